# monitoringApp as an image: the app installed from its wheel, run as a non-root user.
#   docker build -t monitoringapp .
#   docker run -d --name monitor -v "$PWD/config.json:/config/config.json:ro" -v monitoring-data:/data monitoringapp
# .ci/run does these steps without an engine: hadolint on this file, the wheel built and installed in a fresh venv.

FROM python:3.12-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY package/ package/
COPY app/ app/
COPY domain/ domain/
COPY graph/ graph/
COPY operators/ operators/
COPY sinks/ sinks/
COPY store/ store/
COPY streams/ streams/
COPY testmode/ testmode/
COPY web/ web/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && groupadd --gid 10001 monitor \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin monitor \
    && mkdir -p /config /data \
    && chown 10001:10001 /data
USER 10001:10001
# The database lives in the volume; -a, -t and purge's defaults resolve here too.
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["monitoringApp"]
CMD ["-m", "-c", "/config/config.json", "-db", "/data/monitoring.db"]
