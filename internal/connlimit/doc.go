// Package connlimit caps the connections one client address holds open
// to Cato's listener. It sits in front of the HTTP server, before any
// request is read; it imports nothing of Cato.
package connlimit
