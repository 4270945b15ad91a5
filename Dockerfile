# dompromise: build the Cython core in one stage, run as a non-root user in another.
#   docker build -t dompromise .
#   docker run -p 50051:50051 dompromise                      # demo network
#   docker run -p 50051:50051 -v $PWD/conf:/conf dompromise \
#       serve --host 0.0.0.0 --config /conf/network.yaml --stock /conf/stock.csv

FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY dompromise ./dompromise
# A wheel of dompromise (extension compiled here) and wheels of its dependencies.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/dompromise --create-home dompromise
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER dompromise
WORKDIR /var/lib/dompromise
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["dompromise", "health", "--target", "127.0.0.1:50051"]
ENTRYPOINT ["dompromise"]
CMD ["serve", "--host", "0.0.0.0", "--port", "50051", "--data-dir", "/var/lib/dompromise/data"]
