// Package config holds Cato's configuration: the types and what each field
// means, the built-in defaults that make `cato serve` work with no file,
// Load (YAML plus CATO_* environment overrides, unknown keys refused) and
// Validate, which reports every problem at once, naming the key and the fix.
package config
