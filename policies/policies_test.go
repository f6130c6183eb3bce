package policies

import "testing"

func TestDecide(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	sup := func(role string) []Binding { return []Binding{{role, AllMembers}} }
	mem := func(role, m string) []Binding { return []Binding{{role, m}} }
	tests := []struct {
		who      []Binding
		obj, act string
		want     bool
	}{
		{sup(RoleRegulator), "ledger", Read, true},
		{sup(RoleRegulator), "owner_refs", Read, true},
		{sup(RoleRegulator), "reconcile", Write, true},
		{sup(RoleRegulator), "users", Write, false},
		{sup(RoleRegulator), "audit", Read, false},
		{sup(RoleSACReviewer), "ledger", Read, true},
		{sup(RoleSACReviewer), "owner_refs", Read, false},
		{sup(RoleSACReviewer), "reconcile", Write, false},
		{mem(RoleMemberCompliance, "HTSC"), "ledger", Read, true},
		{mem(RoleMemberCompliance, "HTSC"), "evidence", Read, true},
		{mem(RoleMemberCompliance, "HTSC"), "profile", Write, true},
		{mem(RoleMemberCompliance, "HTSC"), "owner_refs", Read, false},
		{mem(RoleMemberUser, "GTJA"), "ledger", Read, true},
		{mem(RoleMemberUser, "GTJA"), "evidence", Read, false},
		{mem(RoleMemberUser, "GTJA"), "users", Read, false},
		{sup(RoleAuditor), "audit", Read, true},
		{sup(RoleAuditor), "ledger", Read, false},
		{sup(RoleAuditor), "status", Read, true},
		{sup(RoleAdmin), "users", Write, true},
		{sup(RoleAdmin), "ledger", Read, false},
		{sup(RoleAdmin), "violations", Read, false},
		{nil, "profile", Read, false},
		{[]Binding{{"intruder", AllMembers}}, "ledger", Read, false},
	}
	for _, tt := range tests {
		_, got, err := e.Decide(tt.who, tt.obj, tt.act)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%v %s %s = %v, want %v", tt.who, tt.obj, tt.act, got, tt.want)
		}
	}
}

// TestEmptyPolicyDeniesAll: deny-override must not turn an empty policy into allow-all.
func TestEmptyPolicyDeniesAll(t *testing.T) {
	e, err := NewWithPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range Roles {
		for _, obj := range []string{"ledger", "profile", "users", "audit", "evidence", "owner_refs"} {
			for _, act := range []string{Read, Write} {
				if _, ok, err := e.Decide([]Binding{{role, AllMembers}, {role, "HTSC"}}, obj, act); err != nil || ok {
					t.Errorf("empty policy: %s %s %s allowed (%v)", role, obj, act, err)
				}
			}
		}
	}
}

func TestDecideReturnsTheAllowingBinding(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := e.Decide([]Binding{{RoleAdmin, AllMembers}, {RoleMemberUser, "HTSC"}}, "ledger", Read)
	if err != nil || !ok || b != (Binding{RoleMemberUser, "HTSC"}) {
		t.Errorf("Decide = %v %v %v, want the member binding", b, ok, err)
	}
}

func TestBindingCheck(t *testing.T) {
	tests := []struct {
		b  Binding
		ok bool
	}{
		{Binding{RoleRegulator, AllMembers}, true},
		{Binding{RoleMemberUser, "HTSC"}, true},
		{Binding{RoleMemberUser, AllMembers}, false},
		{Binding{RoleMemberCompliance, ""}, false},
		{Binding{RoleAdmin, "HTSC"}, false},
		{Binding{"root", AllMembers}, false},
	}
	for _, tt := range tests {
		if err := tt.b.Check(); (err == nil) != tt.ok {
			t.Errorf("%v.Check() = %v, want ok %v", tt.b, err, tt.ok)
		}
	}
}
