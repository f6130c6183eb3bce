package server

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/web"
)

// static serves the embedded assets. They change only with the binary: a day's cache.
func (s *Server) static(c *gin.Context) error {
	p := strings.TrimPrefix(path.Clean("/"+c.Param("path")), "/")
	b, err := fs.ReadFile(web.Static, "static/"+p)
	if err != nil {
		return errNotFound
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, ct, b)
	return nil
}
