// Package version reports the build's version, set at link time with
// -ldflags "-X github.com/cato-gateway/cato/internal/version.Version=v1.2.3",
// or read from the module's build information.
package version

import "runtime/debug"

// Version is set at link time; empty means "read the build information".
var Version string

// String returns the version of this binary.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}
