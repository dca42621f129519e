// Package config holds Cato's configuration: the types and what each field
// means, the built-in default that makes `cato serve` work with no file
// (the only place that names models of its own), Load (YAML plus CATO_*
// environment overrides, wrong keys and values refused by their YAML path)
// and Validate, which reports every problem at once, naming the key and the
// fix. It imports nothing of Cato: a tuning a package defaults stays zero
// here, and app maps each section onto that package's options.
package config
