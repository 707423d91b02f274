package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// mcnemarP is the exact two-sided McNemar p-value for b and c discordant
// pairs: 2 × P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), at most 1.
func mcnemarP(b, c int) float64 {
	n, k := b+c, min(b, c)
	if n == 0 {
		return 1
	}
	var p float64
	for i := 0; i <= k; i++ {
		lg, _ := math.Lgamma(float64(n + 1))
		l1, _ := math.Lgamma(float64(i + 1))
		l2, _ := math.Lgamma(float64(n - i + 1))
		p += math.Exp(lg - l1 - l2 - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*p)
}

// printMcNemar pairs method a's and method b's per-image lines of the
// -per-image file (the last line of each model, dtype, method, block and
// keep ratio) and prints, per setting, how many images each gets right,
// the discordant counts and the exact McNemar p.
func printMcNemar(w io.Writer, path, a, b string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bits := map[string]string{} // model,dtype,method,block,keep → 0/1s
	var keys []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		if len(p) != 6 {
			return fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		k := strings.Join([]string{p[0], p[1], p[3], p[4]}, ",")
		if _, ok := bits[k+","+p[2]]; !ok && p[2] == a {
			keys = append(keys, k)
		}
		bits[k+","+p[2]] = p[5]
	}
	if err := sc.Err(); err != nil {
		return err
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i] < keys[j] })
	fmt.Fprintf(w, "%-32s %6s %6s %8s %8s %7s\n", "model,dtype,block,keep", a, b, "only "+a, "only "+b, "p")
	for _, k := range keys {
		x, y := bits[k+","+a], bits[k+","+b]
		if y == "" {
			continue
		}
		if len(x) != len(y) {
			return fmt.Errorf("%s: %s has %d images for %s, %d for %s", path, k, len(x), a, len(y), b)
		}
		var ra, rb, oa, ob int
		for i := range x {
			ra += int(x[i] - '0')
			rb += int(y[i] - '0')
			if x[i] != y[i] {
				if x[i] == '1' {
					oa++
				} else {
					ob++
				}
			}
		}
		fmt.Fprintf(w, "%-32s %6d %6d %8d %8d %7.3f\n", k, ra, rb, oa, ob, mcnemarP(oa, ob))
	}
	return nil
}
