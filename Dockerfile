# syntax=docker/dockerfile:1

# The dtbase container image: one static binary on a distroless base.
#
#   docker build -t dtbase .
#   docker run -p 5000:5000 -v dtbase-data:/data dtbase
#
# With no configuration, `dtbase serve` keeps an SQLite database (and a generated JWT key) in
# /data. Set DT_DATABASE_URL (or DT_SQL_*) and DT_JWT_SECRET_KEY to use PostgreSQL instead;
# then replicas are stateless and /data is unused.
#
# There is no HEALTHCHECK: the base image has no shell or curl to run one. Orchestrators probe
# the HTTP endpoints instead: GET /healthz (liveness: the process serves) and GET /readyz
# (readiness: the database answers), as the Azure program in deploy/azure does.

# The build stage runs on the builder's own platform and cross-compiles, which for pure Go
# (modernc SQLite, no cgo) needs no emulator.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
# The build context has no .git, so `dtbase version` learns the version and commit from these
# (the image workflow passes the tag and the commit).
ARG VERSION=dev COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/dtbase/dtbase/app.Version=$VERSION -X github.com/dtbase/dtbase/app.Commit=$COMMIT" -o /out/dtbase ./cmd/dtbase
# An empty data directory owned by the runtime user, so that a new volume mounted on /data
# starts out writable by it.
RUN mkdir -p /out/data

# distroless/static has CA certificates (for outbound HTTPS to services and PostgreSQL with
# sslmode=verify-full), tzdata, and a "nonroot" user (65532); nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dtbase /dtbase
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV DT_DATA_DIR=/data
EXPOSE 5000
VOLUME /data
ENTRYPOINT ["/dtbase"]
CMD ["serve"]
