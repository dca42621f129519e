// Package docstest holds the tests that keep README.md and the pages under
// docs/ standing on their own: every relative link resolves to a file of
// the repository (and its #anchor to a heading there), and no path climbs
// out of the repository. It has no code of its own.
package docstest
