# syntax=docker/dockerfile:1
#
# Cato's container image: a static binary on distroless, run as a non-root
# numeric user, with nothing else in the image (no shell, no package
# manager). The root filesystem can be mounted read-only: the only place
# Cato writes is its embedded store, which by default lands under the
# working directory /var/lib/cato (mount a volume or an emptyDir there); Redis, PostgreSQL
# and DynamoDB stores write nothing locally.
#
#   docker build -t cato --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm -p 8080:8080 --read-only -v cato-data:/var/lib/cato \
#     -v $PWD/cato.yaml:/etc/cato/cato.yaml:ro -e CATO_CONFIG_FILE=/etc/cato/cato.yaml \
#     -e CATO_LISTEN=0.0.0.0:8080 -e TEAM_A_KEY=… cato
#
# With no configuration file Cato runs its built-in default (simulated
# models, loopback only); a file or CATO_* overrides make it real
# (docs/operations.md).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
ARG VERSION=dev
# The build fetches only the modules the binary needs (the caches keep them
# between builds); the chart tests' modules are never downloaded.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/cato-gateway/cato/internal/version.Version=${VERSION}" \
      -o /out/cato ./cmd/cato
# The working directory, owned by the run-time user: the default store
# (embedded://.cato) lands in /var/lib/cato/.cato when no volume is mounted.
RUN mkdir -p /out/var/lib/cato

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cato /cato
COPY --from=build --chown=65532:65532 /out/var/lib/cato /var/lib/cato
# distroless's nonroot user, by number so that runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /var/lib/cato
EXPOSE 8080
ENTRYPOINT ["/cato", "serve"]
