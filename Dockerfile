# dompromise: build the Cython core in one stage, run as a non-root user in another.
# The image has the runtime dependencies only (no test or benchmark tools); `pip install .[otel]`
# in the build stage adds OpenTelemetry tracing (serve --otel).
#   docker build -t dompromise .
#   docker run -p 50051:50051 dompromise                      # demo network, plain and open: a laptop only
#
# In production (docs/operations.md): TLS, API keys, metrics.
#   docker run -p 50051:50051 -p 9464:9464 -v $PWD/conf:/conf:ro dompromise \
#       serve --host 0.0.0.0 --config /conf/network.yaml --stock /conf/stock.csv \
#             --tls-cert /conf/server.pem --tls-key /conf/server.key \
#             [--tls-client-ca /conf/clients-ca.pem]            # mTLS: clients need a certificate
#             --auth-keys /conf/keys.yaml                        # scoped keys; `docker kill -s HUP` reloads
#             --metrics-port 9464 --metrics-host 0.0.0.0         # Prometheus at :9464/metrics
#             --log-format json
# With TLS the health check below needs `--tls-ca`: override it (HEALTHCHECK CMD dompromise health
# --target 127.0.0.1:50051 --tls-ca /conf/ca.pem) or probe with the orchestrator's gRPC probe.

FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY dompromise ./dompromise
# A wheel of dompromise (extension compiled here) and wheels of its runtime dependencies only.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/dompromise --create-home dompromise
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER dompromise
WORKDIR /var/lib/dompromise
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["dompromise", "health", "--target", "127.0.0.1:50051"]
ENTRYPOINT ["dompromise"]
CMD ["serve", "--host", "0.0.0.0", "--port", "50051", "--data-dir", "/var/lib/dompromise/data"]
