package cli

import (
	"fmt"
	"labreview/auth"

	"github.com/spf13/cobra"
)

func newKeysCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage token-signing keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key; older keys keep verifying until their tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withAuth(c.Context(), func(svc *auth.Service) error {
				kid, err := svc.RotateKeys(c.Context())
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.Stdout, "new signing key %s; running servers switch to it within %s\n", kid, "30s")
				return err
			})
		},
	})
	return cmd
}
