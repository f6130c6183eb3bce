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
	"time"
	"unicode/utf8"

	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// listWidth is the width violations list keeps to unless --wide: a terminal's, with room.
const listWidth = 120

// maxSubject is the widest subject printed whole without --wide: a symbol or a member id.
const maxSubject = 16

// violationListOptions say how much of each violation to print, and how: show renders
// amounts in units and names accounts (integers and hex with --raw).
type violationListOptions struct {
	evidence bool
	wide     bool
	raw      bool
	home     string
	show     *display
}

// display is how the list renders amounts and accounts: show, or the coin and the fiat
// currency in their units when no asset list was read.
func (o violationListOptions) display() *display {
	if o.show != nil {
		return o.show
	}
	return &display{raw: o.raw, decimals: map[string]uint8{ledger.CoinSymbol: ledger.CoinDecimals, fiatSymbol: ledger.CoinDecimals},
		names: map[ledger.Address]string{}}
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
			opt.block(&b, "    figures: ", figuresText(v.Figures, v.Asset, opt.display()))
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

// evidenceLines prints each piece of evidence: height, time, transaction and note, and
// below it each account it names, with its member, its role and its figures.
func (o violationListOptions) evidenceLines(b *bytes.Buffer, raw json.RawMessage) {
	var ev []compliance.Evidence
	if err := json.Unmarshal(raw, &ev); err != nil {
		o.block(b, "    evidence: ", "unreadable: "+err.Error())
		return
	}
	d := o.display()
	for _, e := range ev {
		tx := ""
		if e.Tx != "" {
			tx = "tx " + e.Tx + " "
			if !o.wide {
				tx = "tx " + shortHex(e.Tx) + " "
			}
		}
		o.block(b, fmt.Sprintf("    evidence %d %s %s", e.Height, timeText(e.Time), tx), e.Note)
		for _, a := range e.Accounts {
			o.block(b, "      ", evidenceAccountText(a, d))
		}
	}
}

// evidenceAccountText is an account of a piece of evidence: "seller gtja (7d33db4d…) of
// GTJA: 10 600036", then what the rule read of it before and after, "100.00 → 112.25
// CNYS". Raw prints the figures as key=value integers.
func evidenceAccountText(a compliance.EvidenceAccount, d *display) string {
	member := a.Member
	if member == "" {
		member = "no member"
	}
	text := fmt.Sprintf("%s %s of %s", a.Role, d.accountHex(a.Address), member)
	if d.raw {
		for _, f := range []struct {
			name string
			v    *int64
		}{{"amount", a.Amount}, {"before", a.Before}, {"after", a.After}} {
			if f.v != nil {
				text += fmt.Sprintf(" %s=%d", f.name, *f.v)
			}
		}
		if a.Asset != "" && (a.Amount != nil || a.Before != nil || a.After != nil) {
			text += " asset=" + a.Asset
		}
		return text
	}
	if a.Amount != nil {
		text += ": " + d.amount64(*a.Amount, a.Asset)
	}
	if a.Before != nil && a.After != nil {
		sep := ", "
		if a.Amount == nil {
			sep = ": "
		}
		text += sep + strings.TrimSuffix(d.amount64(*a.Before, a.Asset), " "+a.Asset) + " → " + d.amount64(*a.After, a.Asset)
	}
	return text
}

// Figures the rules write, by what their numbers count: the coin in fen, yuan paid
// off-chain in fen, the violation's asset in its smallest unit. Names ending in _bp are
// shares in basis points, _pct in percent, _seconds durations.
var (
	coinFigures  = map[string]bool{"sum": true, "threshold": true, "received": true, "sent": true, "sent_after": true, "balance_left": true, "minted": true, "reserve": true, "shortfall": true, "cash": true}
	fiatFigures  = map[string]bool{"fiat": true}
	assetFigures = map[string]bool{"amount": true, "quantity": true, "qty": true, "holding": true, "holding_before": true, "base": true, "supply": true, "limit": true}
	timeFigures  = map[string]bool{"deadline": true, "attested_at": true}
	addrFigures  = map[string]bool{"from": true, "to": true, "buyer": true, "seller": true}
)

// figuresText renders a violation's figures as name=value pairs in name order: amounts in
// their asset's units (asset is the violation's, or the figures' own "asset"), shares as
// percentages, durations in words, times in Shanghai, accounts by their key name. With raw
// numbers stay as PostgreSQL holds them, without passing through a float.
func figuresText(raw json.RawMessage, asset string, d *display) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fig map[string]any
	if err := dec.Decode(&fig); err != nil {
		return string(raw)
	}
	if a, ok := fig["asset"].(string); ok && a != "" {
		asset = a
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
		if !d.raw {
			s = figureText(k, v, s, asset, d)
		}
		parts = append(parts, k+"="+s)
	}
	return strings.Join(parts, " ")
}

// bpText is a share in basis points as a percentage: 9000 is "90.00%".
func bpText(bp int64) string {
	if bp < 0 {
		return "-" + ledger.FormatAmount(uint64(-bp), 2) + "%"
	}
	return ledger.FormatAmount(uint64(bp), 2) + "%"
}

// figureText renders one figure named k, with value v (s as JSON has it), for people.
func figureText(k string, v any, s, asset string, d *display) string {
	if list, ok := v.([]any); ok {
		out := make([]string, len(list))
		for i, x := range list {
			js, _ := json.Marshal(x)
			out[i] = figureText(k, x, string(js), asset, d)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	if str, ok := v.(string); ok {
		switch {
		case timeFigures[k]:
			if t, err := time.Parse(time.RFC3339Nano, str); err == nil {
				return timeText(t)
			}
		case addrFigures[k]:
			return d.accountHex(str)
		case k == "local_time":
			return str + " CST"
		}
		return str
	}
	n, ok := v.(json.Number)
	if !ok {
		return s
	}
	i, err := n.Int64()
	if err != nil {
		return s
	}
	switch {
	case strings.HasSuffix(k, "_bp"):
		return bpText(i)
	case strings.HasSuffix(k, "_pct"):
		return s + "%"
	case strings.HasSuffix(k, "_seconds"):
		return compliance.DurationText(time.Duration(i) * time.Second)
	case coinFigures[k]:
		return d.amount64(i, ledger.CoinSymbol)
	case fiatFigures[k]:
		return d.amount64(i, fiatSymbol)
	case assetFigures[k] && asset != "":
		return d.amount64(i, asset)
	}
	return s
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
