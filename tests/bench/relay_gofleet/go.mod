module kkim/relaybench

go 1.19

// Built in GOPATH mode by build.sh against Debian's
// golang-github-gorilla-websocket-dev (no module proxy here).
require github.com/gorilla/websocket v1.5.0
