package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"labreview/auth"
	"labreview/db"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// readPassword reads one line from stdin: passwords never come as flags,
// where they would show in shell history and the process list.
func readPassword(stdin io.Reader, fromStdin bool) (string, error) {
	if !fromStdin {
		return "", errors.New("passwords are read from standard input: add --password-stdin and pipe the password in")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, auth.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func newUserCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage user accounts (works whether or not the server is running)",
	}

	var email, name, role string
	var pwStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; the password is read from standard input",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			password, err := readPassword(a.Stdin, pwStdin)
			if err != nil {
				return err
			}
			return a.withAuth(c.Context(), func(svc *auth.Service) error {
				u, err := svc.CreateUser(c.Context(), "", auth.NewUser{Email: email, Name: name, Role: role, Password: password}, cliClient)
				if err != nil {
					return cliError(err)
				}
				_, err = fmt.Fprintf(a.Stdout, "created %s (%s, %s) id %s\n", u.Email, u.Name, u.Role, u.ID)
				return err
			})
		},
	}
	create.Flags().StringVar(&email, "email", "", "email address (required)")
	create.Flags().StringVar(&name, "name", "", "display name (required)")
	create.Flags().StringVar(&role, "role", db.RoleViewer, "viewer, reviewer or admin")
	create.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input (required)")
	_ = create.MarkFlagRequired("email")
	_ = create.MarkFlagRequired("name")

	var pwEmail string
	var pwFromStdin, keepTokens bool
	passwd := &cobra.Command{
		Use:   "passwd",
		Short: "Set a user's password (read from standard input), end their sessions and revoke their API tokens",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			password, err := readPassword(a.Stdin, pwFromStdin)
			if err != nil {
				return err
			}
			return a.withAuth(c.Context(), func(svc *auth.Service) error {
				u, err := svc.UserByEmail(c.Context(), pwEmail)
				if err != nil {
					return cliError(err)
				}
				if err := svc.ResetPassword(c.Context(), "", u.ID, password, !keepTokens, cliClient); err != nil {
					return cliError(err)
				}
				what := "their sessions were ended and their API tokens revoked"
				if keepTokens {
					what = "their sessions were ended; their API tokens were kept"
				}
				_, err = fmt.Fprintf(a.Stdout, "password of %s changed; %s\n", u.Email, what)
				return err
			})
		},
	}
	passwd.Flags().StringVar(&pwEmail, "email", "", "email address (required)")
	passwd.Flags().BoolVar(&pwFromStdin, "password-stdin", false, "read the password from standard input (required)")
	passwd.Flags().BoolVar(&keepTokens, "keep-tokens", false, "keep the user's API tokens (by default they are revoked)")
	_ = passwd.MarkFlagRequired("email")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withAuth(c.Context(), func(svc *auth.Service) error {
				users, err := svc.Users(c.Context())
				if err != nil {
					return cliError(err)
				}
				w := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "EMAIL\tNAME\tROLE\tSTATUS\tCREATED")
				for _, u := range users {
					status := "active"
					if u.Disabled {
						status = "disabled"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Email, u.Name, u.Role, status, u.CreatedAt.UTC().Format(time.DateOnly))
				}
				return w.Flush()
			})
		},
	}

	var disEmail string
	disable := &cobra.Command{
		Use:   "disable",
		Short: "Disable a user and end their sessions",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withAuth(c.Context(), func(svc *auth.Service) error {
				u, err := svc.UserByEmail(c.Context(), disEmail)
				if err != nil {
					return cliError(err)
				}
				yes := true
				if _, err := svc.UpdateUser(c.Context(), "", u.ID, auth.UserPatch{Disabled: &yes}, cliClient); err != nil {
					return cliError(err)
				}
				_, err = fmt.Fprintf(a.Stdout, "disabled %s; their sessions were ended\n", u.Email)
				return err
			})
		},
	}
	disable.Flags().StringVar(&disEmail, "email", "", "email address (required)")
	_ = disable.MarkFlagRequired("email")

	cmd.AddCommand(create, passwd, list, disable)
	return cmd
}

// cliError turns service errors into messages for a terminal.
func cliError(err error) error {
	var input *auth.InputError
	switch {
	case errors.As(err, &input):
		return fmt.Errorf("%s %s", input.Field, input.Message)
	case errors.Is(err, db.ErrNotFound):
		return errors.New("no such user")
	default:
		return err
	}
}
