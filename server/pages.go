package server

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/ledgerscope/ledgerscope/web"
)

// Languages the portal speaks, the first the default.
var Languages = []string{"en", "zh-CN"}

// langCookie remembers the language chosen before signing in.
const langCookie = "ls_lang"

// shanghai is the zone every time is shown in; UTC is on hover.
var shanghai = time.FixedZone("CST", 8*3600)

// pages is the parsed templates, one set per page on the shared layout, and the catalogues.
type pages struct {
	byName  map[string]*template.Template
	bundle  *i18n.Bundle
	matcher language.Matcher
}

// loadPages parses every page with the layout, and loads the catalogues.
func loadPages() (*pages, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	tags := make([]language.Tag, len(Languages))
	for i, l := range Languages {
		if _, err := b.LoadMessageFileFS(web.Messages, "i18n/"+l+".toml"); err != nil {
			return nil, fmt.Errorf("web: messages %s: %w", l, err)
		}
		tags[i] = language.MustParse(l)
	}
	p := &pages{byName: map[string]*template.Template{}, bundle: b, matcher: language.NewMatcher(tags)}
	files, err := fs.Glob(web.Templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(web.Templates, "templates/layout.html", f)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// templateFuncs are the formatting helpers of every page: templates format, they never query.
var templateFuncs = template.FuncMap{
	"t": translate,
	// cst is a time as the portal shows it, in Shanghai; utc the same instant for hover.
	"cst": func(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04:05") },
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}

// translate is a message of the catalogue in the page's language, with named arguments as
// key, value pairs. A missing message shows its key, which the catalogue test catches first.
func translate(l *i18n.Localizer, id string, kv ...any) string {
	var data map[string]any
	if len(kv) > 1 {
		data = map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			data[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	s, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Base is what every page's view holds: its title, language, the signed-in user and the
// navigation the user may open.
type Base struct {
	Title string
	L     *i18n.Localizer
	Lang  string
	Path  string
	// User, Role and Member describe who is signed in; empty on the public pages.
	User, Role, Member string
	Nav                []navItem
}

// navItem is a link of the navigation.
type navItem struct {
	Href, Label string
	Current     bool
}

// navLinks are the navigation's pages with what each needs.
var navLinks = []struct{ href, label, obj string }{
	{"/", "nav.home", objProfile},
	{"/status", "nav.status", objStatus},
}

// base is the view every page starts from.
func (s *Server) base(c *gin.Context, title string) Base {
	lang := s.pages.language(c)
	b := Base{Title: title, Lang: lang, L: i18n.NewLocalizer(s.pages.bundle, lang), Path: c.Request.URL.Path}
	who := signedIn(c)
	if who == nil {
		return b
	}
	b.User = who.User.Username
	if who.User.DisplayName != "" {
		b.User = who.User.DisplayName
	}
	if len(who.Roles) > 0 {
		b.Role, b.Member = who.Roles[0].Role, who.Roles[0].Domain
	}
	if sc, ok := scopeOf(c); ok {
		b.Role, b.Member = sc.Binding.Role, sc.Binding.Domain
	}
	for _, n := range navLinks {
		if s.allowed(c, n.obj, "read") {
			b.Nav = append(b.Nav, navItem{Href: n.href, Label: n.label, Current: n.href == b.Path})
		}
	}
	return b
}

// language is the request's language: the user's choice, else the one chosen before
// signing in, else the browser's.
func (p *pages) language(c *gin.Context) string {
	if who := signedIn(c); who != nil && who.User.Language != "" {
		return who.User.Language
	}
	if l, err := c.Cookie(langCookie); err == nil && isLanguage(l) {
		return l
	}
	tags, _, _ := language.ParseAcceptLanguage(c.GetHeader("Accept-Language"))
	_, i, _ := p.matcher.Match(tags...)
	return Languages[i]
}

// translate is a message in the request's language, for the API's error messages.
func (p *pages) translate(c *gin.Context, id string) string {
	return translate(i18n.NewLocalizer(p.bundle, p.language(c)), id)
}

func isLanguage(l string) bool {
	for _, x := range Languages {
		if x == l {
			return true
		}
	}
	return false
}

// render writes a page. It renders into a buffer first, so that a template error is a
// clean 500 and not half a page.
func (s *Server) render(c *gin.Context, status int, page string, view any) {
	t, ok := s.pages.byName[page]
	if !ok {
		s.log.Error("no such page template", "page", page)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", view); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// setLanguage switches the language: for the signed-in user, remembered in their profile;
// before signing in, in a cookie. It goes back to the page it came from.
func (s *Server) setLanguage(c *gin.Context) error {
	lang := c.PostForm("lang")
	if !isLanguage(lang) {
		return withCause(errBadRequest, fmt.Errorf("language %q", lang))
	}
	if who := signedIn(c); who != nil {
		if err := s.db.SetLanguage(c.Request.Context(), who.User.ID, lang); err != nil {
			return err
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: lang, Path: "/", HttpOnly: true, Secure: s.cfg.TLS,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	back := safeNext(c.PostForm("back"))
	if strings.HasPrefix(c.PostForm("back"), "/login") {
		back = "/login"
	}
	c.Redirect(http.StatusSeeOther, back)
	return nil
}
