module kkim/callload

go 1.19

// Built in GOPATH mode by build.sh against Debian's pion (webrtc v3),
// gorilla/websocket and google.golang.org/protobuf under /usr/share/gocode;
// this file being present is what lets GOPATH mode resolve the /v2 and /v3
// import paths (minimal module compatibility). No module proxy here.
