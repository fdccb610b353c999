# syntax=docker/dockerfile:1
# labreview container image: UI built with Node, binary built with Go
# (CGO_ENABLED=0: the SQLite driver is pure Go, so the binary is static), shipped on distroless as a
# non-root user. Data lives in the /data volume.
#
#   docker build -t labreview --build-arg VERSION=$(git describe --tags --always) .
#   docker run -p 8080:8080 -v labreview-data:/data labreview

FROM node:20-bookworm-slim AS ui
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /src/frontend/dist/ ./frontend/dist/
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
# nomsgpack drops Gin's MessagePack binding (6 MB; see the Makefile).
RUN CGO_ENABLED=0 go build -trimpath -tags nomsgpack \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${BUILD_DATE}" \
      -o /out/labreview . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/labreview /usr/local/bin/labreview
# The data folder must be owned by the runtime user; labreview makes it 0700.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
# Configuration: mount a file at /etc/labreview/config.yaml, or set LABREVIEW_* variables.
ENV LABREVIEW_DATA_DIR=/data \
    LABREVIEW_SERVER_ADDR=:8080 \
    LABREVIEW_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/labreview", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/labreview"]
CMD ["serve"]
