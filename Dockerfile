# LedgerScope: one static binary on a minimal base, run as a non-root user.
#
#   docker build -t ledgerscope .
#   docker run -p 26656:26656 -p 26657:26657 -v ledgerscope:/data ledgerscope devnet --home /data/devnet
#
# Ports: 26656 CometBFT P2P (validator 0 of the devnet; validator i uses 26656+10i)
#        26657 CometBFT RPC (bound to 127.0.0.1 by the devnet; a real node sets its own)
#        8080  the portal's web pages and API, once it runs
# State lives under /data; mount a volume there.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The pebble and CometBFT stores are pure Go, so the binary links statically with cgo off.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ledgerscope ./cmd/ledgerscope

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ledgerscope /usr/local/bin/ledgerscope
USER nonroot:nonroot
WORKDIR /data
EXPOSE 26656 26657 8080
ENTRYPOINT ["/usr/local/bin/ledgerscope"]
CMD ["devnet", "--home", "/data/devnet"]
