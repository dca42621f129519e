// Package app is Cato's composition root: New builds every component from a
// config.Config, Run serves until its context ends and then drains. Only
// app imports everything; nothing imports app but the command line.
package app
