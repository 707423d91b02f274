package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlocks returns the command lines of the README's ```sh blocks, in
// order, comments cut off.
func readmeBlocks(t *testing.T, readme []byte) [][]string {
	t.Helper()
	var blocks [][]string
	in := false
	s := bufio.NewScanner(bytes.NewReader(readme))
	for s.Scan() {
		line := s.Text()
		switch {
		case line == "```sh":
			in = true
			blocks = append(blocks, nil)
		case in && line == "```":
			in = false
		case in:
			if i := strings.Index(line, "#"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" {
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], line)
			}
		}
	}
	return blocks
}

// digitLabel reads which label testdata/digits/NAME has from the
// generator's SOURCE.txt ("7.png is MNIST test image #5040 (label 7)").
func digitLabel(t *testing.T, image string) int {
	t.Helper()
	src, err := os.ReadFile("testdata/digits/SOURCE.txt")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(regexp.QuoteMeta(filepath.Base(image)) + ` is MNIST test image #\d+ \(label (\d)\)`)
	m := re.FindSubmatch(src)
	if m == nil {
		t.Fatalf("testdata/digits/SOURCE.txt does not say which digit %s is", image)
	}
	return int(m[1][0] - '0')
}

// runReadme runs one README line "go run ./cmd/edgeinfer ARGS" in-process
// and returns its standard output.
func runReadme(t *testing.T, line string) string {
	t.Helper()
	args, ok := strings.CutPrefix(line, "go run ./cmd/edgeinfer ")
	if !ok {
		t.Fatalf("README line %q is not a go run ./cmd/edgeinfer command", line)
	}
	st, out, e := edgeinfer(strings.Fields(args)...)
	if st != 0 {
		t.Fatalf("%s: status %d: %s", line, st, e)
	}
	return out
}

// TestReadmeOpening runs the README's first command — a trained MNIST ViT,
// int8, on a real digit the repo carries — and checks that the digit it
// ranks first is the image's label, then the same at half the tokens with
// the overlay (written to a temporary file instead of /tmp/kept.png). The
// second line of the opening is the test command.
func TestReadmeOpening(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, readme)
	if len(blocks) < 2 || len(blocks[0]) != 2 || blocks[0][1] != "go test ./..." {
		t.Fatalf("the README opens with %q, want the main job and go test ./...", blocks)
	}
	first := blocks[0][0]
	var pruned string
	for _, l := range blocks[1] {
		if strings.Contains(l, "--keep 0.5") && strings.Contains(l, "--overlay") {
			pruned = l
		}
	}
	if !strings.HasPrefix(pruned, first+" ") {
		t.Fatalf("the block below the opening has no %q with --keep 0.5 --overlay: %q", first, blocks[1])
	}
	t.Chdir("../..")
	image := regexp.MustCompile(`--image (\S+)`).FindStringSubmatch(first)
	if image == nil {
		t.Fatalf("the first command %q reads no --image", first)
	}
	label := digitLabel(t, image[1])
	want := fmt.Sprintf("\n  1. %-6d", label)
	if out := runReadme(t, first); !strings.Contains(out, want) {
		t.Errorf("%s ranks another digit than %d first:\n%s", first, label, out)
	}
	kept := filepath.Join(t.TempDir(), "kept.png")
	out := runReadme(t, strings.ReplaceAll(pruned, "/tmp/kept.png", kept))
	if !strings.Contains(out, want) {
		t.Errorf("%s ranks another digit than %d first:\n%s", pruned, label, out)
	}
	if !regexp.MustCompile(`overlay \S+: \d+ of \d+ patch tokens kept`).MatchString(out) {
		t.Errorf("%s does not say what it kept:\n%s", pruned, out)
	}
	if st, err := os.Stat(kept); err != nil || st.Size() == 0 {
		t.Errorf("no overlay written: %v", err)
	}
}

// TestDigitsMNISTViT runs the README's model on each of the ten digits in
// testdata/digits, at every token and at half of them (-short, as in the
// emulated lanes: half only), and counts how many it reads right.
func TestDigitsMNISTViT(t *testing.T) {
	t.Chdir("../..")
	keeps := []string{"1", "0.5"}
	if testing.Short() {
		keeps = keeps[1:]
	}
	for _, keep := range keeps {
		right := 0
		for d := range 10 {
			image := fmt.Sprintf("testdata/digits/%d.png", d)
			st, out, e := edgeinfer("run", "--model", "testdata/mnist-vit.eim", "--image", image, "--keep", keep, "--top", "1", "--json")
			if st != 0 {
				t.Fatalf("%s --keep %s: status %d: %s", image, keep, st, e)
			}
			var res runJSON
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Outputs) != 1 || len(res.Outputs[0].Top) != 1 {
				t.Fatalf("%s: %v: %q", image, err, out)
			}
			if res.Outputs[0].Top[0].Index == digitLabel(t, image) {
				right++
			} else {
				t.Logf("--keep %s: %s read as %d", keep, image, res.Outputs[0].Top[0].Index)
			}
		}
		t.Logf("--keep %s: %d of 10 digits right", keep, right)
		if right < 10 {
			t.Errorf("--keep %s: %d of 10 digits right, want all", keep, right)
		}
	}
}
