"""What a failed exchange's exception carries: urllib3 and requests wrap the error that says why (an SSL error, a
lookup given up on) two or three levels down."""

from __future__ import annotations

__all__ = ["carried_errors"]


def carried_errors(error: BaseException) -> list[BaseException]:
    """`error` and every exception it carries (causes, contexts, exception arguments, a `reason`), breadth first,
    each once, at most 50."""
    seen: list[BaseException] = []
    waiting: list[BaseException] = [error]
    while waiting and len(seen) < 50:
        current = waiting.pop(0)
        if any(current is known for known in seen):
            continue
        seen.append(current)
        reason = getattr(current, "reason", None)
        carried = [current.__cause__, current.__context__, *getattr(current, "args", ()), reason]
        waiting.extend(e for e in carried if isinstance(e, BaseException))
    return seen
