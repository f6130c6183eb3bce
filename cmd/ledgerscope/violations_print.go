package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/store"
)

// listWidth is the width violations list keeps to unless --wide: a terminal's, with room.
const listWidth = 120

// maxSubject is the widest subject printed whole without --wide: a symbol or a member id.
const maxSubject = 16

// violationListOptions say how much of each violation to print.
type violationListOptions struct {
	evidence bool
	wide     bool
}

// longHexRE finds hashes and addresses: 40 or more hex digits on their own.
var longHexRE = regexp.MustCompile(`\b[0-9a-fA-F]{40,}\b`)

// printViolationList prints each violation as a line of fields, aligned across the page,
// with its summary below it and, with evidence, its figures and evidence.
func printViolationList(out io.Writer, vs []store.Violation, opt violationListOptions) error {
	rows := [][]string{{"id", "rule", "v", "severity", "height", "time", "subject", "member", "status"}}
	for _, v := range vs {
		rows = append(rows, []string{strconv.FormatInt(v.ID, 10), v.RuleID, strconv.Itoa(int(v.RuleVersion)), v.Severity,
			strconv.FormatInt(v.Height, 10), timeText(v.BlockTime), opt.short(v.Subject), v.Member, v.Status})
	}
	widths := columnWidths(rows)
	var b bytes.Buffer
	writeRow(&b, widths, rows[0])
	for i, v := range vs {
		writeRow(&b, widths, rows[i+1])
		opt.block(&b, "    ", v.Summary)
		if opt.evidence {
			opt.block(&b, "    figures: ", figuresText(v.Figures))
			opt.evidenceLines(&b, v.Evidence)
		}
	}
	_, err := out.Write(b.Bytes())
	return err
}

// short shortens a long subject (an address, an owner_ref) unless the list is wide.
func (o violationListOptions) short(s string) string {
	switch {
	case o.wide:
		return s
	case isHex(s) && len(s) > maxSubject:
		return shortHex(s)
	case utf8.RuneCountInString(s) > maxSubject:
		return string([]rune(s)[:maxSubject-1]) + "…"
	}
	return s
}

// block prints text after prefix, wrapped to the list's width and indented under the
// prefix's indentation, with hashes and addresses shortened; wide prints it on one line,
// whole.
func (o violationListOptions) block(b *bytes.Buffer, prefix, text string) {
	if o.wide {
		fmt.Fprintf(b, "%s%s\n", prefix, text)
		return
	}
	text = longHexRE.ReplaceAllStringFunc(text, shortHex)
	indent := strings.Repeat(" ", len(prefix)-len(strings.TrimLeft(prefix, " "))+2)
	line := prefix
	for i, word := range strings.Fields(text) {
		if i > 0 && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > listWidth {
			b.WriteString(line + "\n")
			line = indent + word
			continue
		}
		if i > 0 {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
}

// evidenceLines prints each piece of evidence: height, time, transaction and note.
func (o violationListOptions) evidenceLines(b *bytes.Buffer, raw json.RawMessage) {
	var ev []compliance.Evidence
	if err := json.Unmarshal(raw, &ev); err != nil {
		o.block(b, "    evidence: ", "unreadable: "+err.Error())
		return
	}
	for _, e := range ev {
		tx := ""
		if e.Tx != "" {
			tx = "tx " + e.Tx + " "
			if !o.wide {
				tx = "tx " + shortHex(e.Tx) + " "
			}
		}
		o.block(b, fmt.Sprintf("    evidence %d %s %s", e.Height, timeText(e.Time), tx), e.Note)
	}
}

// figuresText renders a violation's figures as name=value pairs in name order; numbers stay
// as PostgreSQL holds them, without passing through a float.
func figuresText(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fig map[string]any
	if err := dec.Decode(&fig); err != nil {
		return string(raw)
	}
	keys := make([]string, 0, len(fig))
	for k := range fig {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := fig[k]
		s, ok := v.(string)
		if !ok {
			js, _ := json.Marshal(v)
			s = string(js)
		}
		parts = append(parts, k+"="+s)
	}
	return strings.Join(parts, " ")
}

// columnWidths is the widest cell of each column, in runes.
func columnWidths(rows [][]string) []int {
	w := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	return w
}

// writeRow writes cells padded to widths, two spaces apart, without trailing space.
func writeRow(b *bytes.Buffer, widths []int, cells []string) {
	var line strings.Builder
	for i, c := range cells {
		line.WriteString(c)
		if i < len(cells)-1 {
			line.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
		}
	}
	b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
}
