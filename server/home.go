package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// homeView is the page a user lands on after signing in.
type homeView struct {
	Base
}

// home greets the user with their role and member and the pages they can open.
func (s *Server) home(c *gin.Context) error {
	s.render(c, http.StatusOK, "home.html", homeView{Base: s.base(c, "home.title")})
	return nil
}
