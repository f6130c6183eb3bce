package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/portal"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/users"
)

// newUsersCmd is `ledgerscope users`: the portal's users from the command line, for the first
// admin and for scripts.
func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "The portal's users: add, list, disable, enable, reset-password, roles, end-sessions",
	}
	cmd.AddCommand(newUsersAddCmd(), newUsersListCmd(), newUsersDisableCmd(true), newUsersDisableCmd(false),
		newUsersResetCmd(), newUsersRolesCmd(), newUsersEndSessionsCmd(), newUsersResetTOTPCmd(), newUsersDemoCodeCmd())
	return cmd
}

// roleFlags are the --role and --member flags of add and roles.
type roleFlags struct {
	roles   []string
	members []string
}

func (r *roleFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&r.roles, "role", nil, "role to grant: "+strings.Join(policies.Roles, ", ")+"; repeat for several")
	cmd.Flags().StringSliceVar(&r.members, "member", nil, "member id of each member role, in the order of --role (e.g. HTSC)")
}

// bindings pairs each member role with the next --member.
func (r *roleFlags) bindings() ([]policies.Binding, error) {
	var out []policies.Binding
	next := 0
	for _, role := range r.roles {
		b := policies.Binding{Role: role}
		if policies.MemberRole(role) {
			if next >= len(r.members) {
				return nil, fmt.Errorf("role %s needs a --member", role)
			}
			b.Domain, next = r.members[next], next+1
		}
		out = append(out, b)
	}
	if next < len(r.members) {
		return nil, fmt.Errorf("--member %s has no member role to go with", r.members[next])
	}
	return out, nil
}

func newUsersAddCmd() *cobra.Command {
	db := &appdb.Config{}
	var rf roleFlags
	var display, lang string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "add NAME --role ROLE [--member M]",
		Short: "Add a user; prints a generated password unless --password-stdin gives one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bs, err := rf.bindings()
			if err != nil {
				return err
			}
			password, generated, err := readPassword(cmd.InOrStdin(), stdin)
			if err != nil {
				return err
			}
			return withDatabase(cmd.Context(), *db, func(d *appdb.DB) error {
				u, err := users.Add(cmd.Context(), d.DB, users.New{Username: args[0], DisplayName: display, Password: password,
					Language: lang, Bindings: bs, By: "cli"})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "user %s added\n", u.Username)
				if generated {
					fmt.Fprintf(cmd.OutOrStdout(), "password %s\n", password)
				}
				return nil
			})
		},
	}
	rf.register(cmd)
	addDBFlags(cmd, db)
	cmd.Flags().StringVar(&display, "name", "", "the person's name, as the pages show it")
	cmd.Flags().StringVar(&lang, "language", "", "en or zh-CN; empty: the browser's")
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

// readPassword reads the password from stdin, or generates one.
func readPassword(in io.Reader, fromStdin bool) (string, bool, error) {
	if !fromStdin {
		return users.GeneratePassword(), true, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

func newUsersListCmd() *cobra.Command {
	db := &appdb.Config{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the users with their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDatabase(cmd.Context(), *db, func(d *appdb.DB) error {
				return listUsers(cmd.Context(), cmd.OutOrStdout(), d.DB)
			})
		},
	}
	addDBFlags(cmd, db)
	return cmd
}

// maxListedUsers bounds users list.
const maxListedUsers = 10_000

func listUsers(ctx context.Context, w io.Writer, db *store.DB) error {
	us, err := db.Users(ctx, maxListedUsers)
	if err != nil {
		return err
	}
	ids := make([]int64, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	roles, err := db.UserRoles(ctx, ids...)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tNAME\tROLES\tSTATUS\tSECOND FACTOR")
	for _, u := range us {
		var rs []string
		for _, r := range roles[u.ID] {
			if r.Domain == policies.AllMembers {
				rs = append(rs, r.Role)
			} else {
				rs = append(rs, r.Role+"@"+r.Domain)
			}
		}
		status, tf := "active", "-"
		if u.Disabled {
			status = "disabled"
		}
		if u.TOTPEnabled {
			tf = "TOTP"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, strings.Join(rs, ","), status, tf)
	}
	return tw.Flush()
}

func newUsersDisableCmd(disable bool) *cobra.Command {
	db := &appdb.Config{}
	use, short := "enable NAME", "Let a disabled user sign in again"
	if disable {
		use, short = "disable NAME", "Stop a user from signing in and end their sessions"
	}
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withUser(cmd, db, args[0], func(d *appdb.DB, u *store.User) error {
				if err := d.SetDisabled(cmd.Context(), u.ID, disable); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "user %s %s\n", u.Username, map[bool]string{true: "disabled", false: "enabled"}[disable])
				return nil
			})
		},
	}
	addDBFlags(cmd, db)
	return cmd
}

func newUsersResetCmd() *cobra.Command {
	db := &appdb.Config{}
	var stdin bool
	cmd := &cobra.Command{
		Use: "reset-password NAME", Short: "Set a new password (generated unless --password-stdin) and end the user's sessions",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, generated, err := readPassword(cmd.InOrStdin(), stdin)
			if err != nil {
				return err
			}
			return withUser(cmd, db, args[0], func(d *appdb.DB, u *store.User) error {
				if err := users.CheckPassword(password, u.Username); err != nil {
					return err
				}
				hash, err := users.HashPassword(password)
				if err != nil {
					return err
				}
				if err := d.SetPassword(cmd.Context(), u.ID, hash); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of %s reset; their sessions are ended\n", u.Username)
				if generated {
					fmt.Fprintf(cmd.OutOrStdout(), "password %s\n", password)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input")
	addDBFlags(cmd, db)
	return cmd
}

func newUsersRolesCmd() *cobra.Command {
	db := &appdb.Config{}
	var rf roleFlags
	cmd := &cobra.Command{
		Use: "roles NAME --role ROLE [--member M] ...", Short: "Replace a user's roles",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bs, err := rf.bindings()
			if err != nil {
				return err
			}
			return withUser(cmd, db, args[0], func(d *appdb.DB, u *store.User) error {
				if err := users.SetBindings(cmd.Context(), d.DB, u.ID, bs, "cli"); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "roles of %s set\n", u.Username)
				return nil
			})
		},
	}
	rf.register(cmd)
	addDBFlags(cmd, db)
	return cmd
}

func newUsersEndSessionsCmd() *cobra.Command {
	db := &appdb.Config{}
	cmd := &cobra.Command{
		Use: "end-sessions NAME", Short: "Sign a user out everywhere", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withUser(cmd, db, args[0], func(d *appdb.DB, u *store.User) error {
				n, err := d.DeleteUserSessions(cmd.Context(), u.ID)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d sessions of %s ended\n", n, u.Username)
				return nil
			})
		},
	}
	addDBFlags(cmd, db)
	return cmd
}

// withUser runs fn on the named user.
func withUser(cmd *cobra.Command, db *appdb.Config, name string, fn func(*appdb.DB, *store.User) error) error {
	return withDatabase(cmd.Context(), *db, func(d *appdb.DB) error {
		u, err := d.UserByName(cmd.Context(), strings.ToLower(name))
		if err != nil {
			return err
		}
		return fn(d, u)
	})
}

func newUsersResetTOTPCmd() *cobra.Command {
	db := &appdb.Config{}
	cmd := &cobra.Command{
		Use: "reset-totp NAME", Short: "Turn a user's second factor off (a lost authenticator); they enrol again at sign-in",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withUser(cmd, db, args[0], func(d *appdb.DB, u *store.User) error {
				if err := d.ResetTOTP(cmd.Context(), u.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "second factor of %s reset; their sessions are ended\n", u.Username)
				return nil
			})
		},
	}
	addDBFlags(cmd, db)
	return cmd
}

func newUsersDemoCodeCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use: "demo-code NAME", Short: "Print the current TOTP code of a demo user (make run's csrc or admin)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := portal.DemoCode(home, args[0], time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), code)
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", devnet.DefaultOptions().Home, "the devnet's home, where demo-logins.json is")
	return cmd
}
