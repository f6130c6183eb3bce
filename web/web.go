// Package web holds the portal's pages: html/template files, one per page on a shared layout,
// the message catalogues of its languages, and the static assets, all embedded in the binary
// so that the portal runs in an air-gapped network.
package web

import "embed"

// Templates is the page templates: layout.html and one file per page.
//
//go:embed templates/*.html
var Templates embed.FS

// Static is the assets served under /static/.
//
//go:embed static
var Static embed.FS

// Messages is the message catalogues, one TOML file per language (en.toml, zh-CN.toml).
//
//go:embed i18n/*.toml
var Messages embed.FS
