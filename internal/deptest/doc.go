// Package deptest holds the test that keeps Cato's import graph as
// STYLE.md draws it: leaves import nothing of Cato but llm (and window,
// the sliding window they share), domain packages never reach for a store,
// the HTTP layer or the composition root, and production code never
// imports testing. It has no code of its own.
package deptest
