package rollout

import "fmt"

// Side is which system serves a request. The zero Side is SideLegacy.
type Side uint8

// Sides of the rollout.
const (
	SideLegacy Side = iota // the legacy upstream, through Legacy
	SideNew                // the new orchestrator
)

// String returns "legacy" or "new", the values of the X-Cato-Side header.
func (s Side) String() string {
	if s == SideNew {
		return "new"
	}
	return "legacy"
}

// Other returns the other side.
func (s Side) Other() Side {
	if s == SideNew {
		return SideLegacy
	}
	return SideNew
}

// ParseSide reads "new" or "legacy".
func ParseSide(v string) (Side, error) {
	switch v {
	case "new":
		return SideNew, nil
	case "legacy":
		return SideLegacy, nil
	}
	return 0, fmt.Errorf("side %q is not new or legacy", v)
}
