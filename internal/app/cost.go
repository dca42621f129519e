package app

import "math"

// usdPerUnit is how many units of cost_usd make a dollar: costs are rounded
// to a billionth of a dollar, far below one token of any model Cato knows
// a price for (the cheapest, 0.25 USD per million tokens, is 250 units), so
// that rounding hides no token and float noise (0.000025600000000000002)
// never shows in answers, /status or logs.
const usdPerUnit = 1e9

// roundUSD rounds a cost in US dollars to a billionth of a dollar. The
// division by an exact power of ten gives the float64 nearest to the
// decimal, which JSON then prints without noise.
func roundUSD(usd float64) float64 {
	return math.Round(usd*usdPerUnit) / usdPerUnit
}
