package gw

// clientPage is served at /client.html on the control port: the KKIM doc's
// JavaScript client code paths (login, send, receive push, invite) for the
// headless Chromium check. Filled in by page_js.go.
var clientPage = "<!doctype html><title>kkim</title><p id=result>not implemented</p>"
