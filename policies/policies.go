// Package policies is the portal's access model and its roles' built-in permissions: the
// Casbin model (model.conf) and policy (policy.csv), embedded, and the decision a request
// takes from them.
package policies

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"
	"github.com/casbin/casbin/v2/util"
)

//go:embed model.conf
var modelText string

//go:embed policy.csv
var policyText string

// The roles a binding may give.
const (
	RoleRegulator        = "regulator"
	RoleSACReviewer      = "sac_reviewer"
	RoleMemberCompliance = "member_compliance"
	RoleMemberUser       = "member_user"
	RoleAuditor          = "auditor"
	RoleAdmin            = "admin"
)

// Roles lists every role, supervisors first.
var Roles = []string{RoleRegulator, RoleSACReviewer, RoleMemberCompliance, RoleMemberUser, RoleAuditor, RoleAdmin}

// AllMembers is the domain of a binding that is for no one member: the supervisors', the
// auditor's and the admin's.
const AllMembers = "*"

// MemberRole says whether the role's bindings are for one member (and see its rows only).
func MemberRole(role string) bool {
	return role == RoleMemberCompliance || role == RoleMemberUser
}

// Actions.
const (
	Read  = "read"
	Write = "write"
)

// Binding gives a user a role in a domain: a member id, or AllMembers.
type Binding struct {
	Role   string
	Domain string
}

// Check rejects a binding that cannot be: an unknown role, a member role without a member, a
// supervisor's role bound to one member.
func (b Binding) Check() error {
	if !slices.Contains(Roles, b.Role) {
		return fmt.Errorf("unknown role %q (one of %v)", b.Role, Roles)
	}
	if MemberRole(b.Role) == (b.Domain == AllMembers || b.Domain == "") {
		if MemberRole(b.Role) {
			return fmt.Errorf("role %s is for one member: give its member id", b.Role)
		}
		return fmt.Errorf("role %s is for every member: it takes no member id", b.Role)
	}
	return nil
}

// Enforcer decides requests against the embedded model and a policy.
type Enforcer struct {
	e *casbin.Enforcer
}

// New is the enforcer of the built-in policy.
func New() (*Enforcer, error) { return NewWithPolicy(policyText) }

// NewWithPolicy is an enforcer of the given policy text, in policy.csv's form: tests use it
// for an empty or altered policy.
func NewWithPolicy(policy string) (*Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("policies: model: %w", err)
	}
	// The string adapter refuses a text without a line: a policy of comments is as empty.
	if strings.TrimSpace(policy) == "" {
		policy = "# empty"
	}
	e, err := casbin.NewEnforcer(m, stringadapter.NewAdapter(policy))
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	// A role inherited with domain * holds in every domain.
	e.AddNamedDomainMatchingFunc("g", "keyMatch", util.KeyMatch)
	if err := e.LoadPolicy(); err != nil {
		return nil, fmt.Errorf("policies: load: %w", err)
	}
	return &Enforcer{e: e}, nil
}

// Decide returns the first of the bindings under which the action on obj is allowed, and
// whether there is one. The binding's domain is then the request's row scope.
func (e *Enforcer) Decide(bindings []Binding, obj, act string) (Binding, bool, error) {
	for _, b := range bindings {
		ok, err := e.e.Enforce(b.Role, b.Domain, obj, act)
		if err != nil {
			return Binding{}, false, fmt.Errorf("policies: enforce %s/%s %s %s: %w", b.Role, b.Domain, obj, act, err)
		}
		if ok {
			return b, true, nil
		}
	}
	return Binding{}, false, nil
}
