// Package connlimit caps the connections Cato's listener holds open: per
// client address (Listener), in total (Total), and in total shedding the
// connection that sends its request slowest to make room for a new one
// (Shedding). It sits in front of the HTTP server, before any request is
// read; it imports nothing of Cato.
package connlimit
