package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// keptSets parses one image's field of a -kept line: grid indices joined
// by '.' (empty: no pruning).
func keptSets(field string) (map[int]bool, error) {
	set := map[int]bool{}
	if field == "" {
		return set, nil
	}
	for _, f := range strings.Split(field, ".") {
		g, err := strconv.Atoi(f)
		if err != nil || g < 0 {
			return nil, fmt.Errorf("patch %q", f)
		}
		set[g] = true
	}
	return set, nil
}

// printKeptDiff pairs method a's and method b's lines of the -kept file
// (the last line of each model, dtype, method, block and keep ratio) and
// prints, per setting, the images where both keep the same patches, the
// mean number of patches a keeps and b does not (swaps), and the patches
// one method keeps in at least 90% of the images and the other in at
// most 10%.
func printKeptDiff(w io.Writer, path, a, b string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lines := map[string]string{} // model,dtype,block,keep,method → sets
	var keys []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		p := strings.SplitN(sc.Text(), ",", 6)
		if len(p) != 6 {
			return fmt.Errorf("%s: malformed line starting %.40q", path, sc.Text())
		}
		k := strings.Join([]string{p[0], p[1], p[3], p[4]}, ",")
		if _, ok := lines[k+","+p[2]]; !ok && p[2] == a {
			keys = append(keys, k)
		}
		lines[k+","+p[2]] = p[5]
	}
	if err := sc.Err(); err != nil {
		return err
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i] < keys[j] })
	fmt.Fprintf(w, "%-32s %9s %6s  %s\n", "model,dtype,block,keep", "identical", "swaps", "patches kept by one in ≥ 90% of images, by the other in ≤ 10%")
	for _, k := range keys {
		la, lb := lines[k+","+a], lines[k+","+b]
		if lb == "" {
			continue
		}
		xa, xb := strings.Split(la, " "), strings.Split(lb, " ")
		if len(xa) != len(xb) {
			return fmt.Errorf("%s: %s has %d images for %s, %d for %s", path, k, len(xa), a, len(xb), b)
		}
		var same, swaps int
		ca, cb := map[int]int{}, map[int]int{}
		for i := range xa {
			sa, err := keptSets(xa[i])
			if err != nil {
				return fmt.Errorf("%s: %s %s image %d: %w", path, k, a, i, err)
			}
			sb, err := keptSets(xb[i])
			if err != nil {
				return fmt.Errorf("%s: %s %s image %d: %w", path, k, b, i, err)
			}
			d := 0
			for g := range sa {
				ca[g]++
				if !sb[g] {
					d++
				}
			}
			for g := range sb {
				cb[g]++
			}
			if d == 0 && len(sa) == len(sb) {
				same++
			}
			swaps += d
		}
		n := len(xa)
		var lop []string
		var grid []int
		for g := range ca {
			grid = append(grid, g)
		}
		for g := range cb {
			if _, ok := ca[g]; !ok {
				grid = append(grid, g)
			}
		}
		sort.Ints(grid)
		for _, g := range grid {
			fa, fb := float64(ca[g])/float64(n), float64(cb[g])/float64(n)
			if fa >= 0.9 && fb <= 0.1 || fb >= 0.9 && fa <= 0.1 {
				lop = append(lop, fmt.Sprintf("%d (%s %.1f%%, %s %.1f%%)", g, a, 100*fa, b, 100*fb))
			}
		}
		fmt.Fprintf(w, "%-32s %9d %6.2f  %s\n", k, same, float64(swaps)/float64(n), strings.Join(lop, "; "))
	}
	return nil
}
