package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackhub/stackhub/service/client"
)

// The swarm cluster's nodes: StackHub runs on a swarm manager and uses
// swarm mode to place apps on more than one server.

func newNodeCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "List, add, drain and remove the nodes of the swarm cluster StackHub manages",
		Long: "StackHub runs on a Docker swarm manager (docker swarm init); apps installed with --target swarm\n" +
			"run as swarm services on the cluster's nodes. These commands show the nodes with their labels,\n" +
			"CPUs, memory and state, print the command that joins a new node, drain a node (its apps move to\n" +
			"the others) and remove one.",
	}
	cmd.AddCommand(newNodeListCmd(f), newNodeAddCmd(f), newNodeAvailabilityCmd(f, "drain"),
		newNodeAvailabilityCmd(f, "activate"), newNodeAvailabilityCmd(f, "pause"), newNodeRemoveCmd(f))
	return cmd
}

func newNodeListCmd(f *Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the cluster's nodes: role, availability, state, CPUs, memory, labels, tasks",
		Example: "  stackhub node list\n  stackhub node list -o json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			nodes, err := c.Nodes(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, nodes)
			}
			return printNodes(f, nodes)
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

func printNodes(f *Factory, nodes []client.Node) error {
	tw := newTable(f.IO.Out)
	fmt.Fprintln(tw, "ID\tHOSTNAME\tROLE\tAVAILABILITY\tSTATE\tCPUS\tMEMORY\tARCH\tTASKS\tLABELS")
	for _, n := range nodes {
		role := n.Role
		if n.Leader {
			role += " (leader)"
		}
		var labels []string
		for k, v := range n.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		id := n.ID
		if len(id) > 12 {
			id = id[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%g\t%d MiB\t%s\t%d\t%s\n", id, n.Hostname, role, n.Availability, n.State,
			n.CPUs, n.MemoryBytes>>20, n.Architecture, n.Tasks, strings.Join(labels, ","))
	}
	return tw.Flush()
}

func newNodeAddCmd(f *Factory) *cobra.Command {
	var output string
	var manager bool
	var join sshJoin
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Print the command that joins a new node to the cluster, or run it on the node over ssh",
		Long: "Print the docker swarm join command to run on the new node (admins only: it holds the cluster's\n" +
			"join token, a secret; whoever has it can join a node). The node shows in stackhub node list once\n" +
			"it has joined; label it with docker node update --label-add ssd=true NODE for placement.\n\n" +
			"With --ssh user@host the command runs on the new host through your ssh client (your keys and\n" +
			"known_hosts; no password prompt), then waits until the node shows. StackHub keeps no SSH key.",
		Example: "  stackhub node add\n  stackhub node add --manager\n  stackhub node add --ssh root@203.0.113.7\n" +
			"  stackhub node add --ssh admin@node2 --ssh-identity ~/.ssh/cluster --ssh-option StrictHostKeyChecking=accept-new",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			j, err := c.NodeJoin(cmd.Context(), manager)
			if err != nil {
				return err
			}
			if join.Target != "" {
				return join.run(cmd.Context(), f, c, j)
			}
			if output == "json" {
				return printJSON(f.IO.Out, j)
			}
			fmt.Fprintf(f.IO.ErrOut, "Run this on the new %s node (the token is a secret):\n", j.Role)
			fmt.Fprintln(f.IO.Out, j.Command)
			return nil
		},
	}
	cmd.Flags().BoolVar(&manager, "manager", false, "join the node as a manager (default: worker)")
	cmd.Flags().StringVar(&join.Target, "ssh", "", "join the node at `user@host` over ssh instead of printing the command")
	cmd.Flags().IntVar(&join.Port, "ssh-port", 0, "ssh port of the new node (default: ssh's, 22)")
	cmd.Flags().StringVar(&join.Identity, "ssh-identity", "", "private key `file` for ssh (default: ssh's keys and agent)")
	cmd.Flags().StringArrayVar(&join.Options, "ssh-option", nil, "ssh option `KEY=VALUE` (repeatable), as ssh -o")
	cmd.Flags().DurationVar(&join.Wait, "wait", 60*time.Second, "with --ssh, how long to wait for the node to show (0: do not wait)")
	addClientFlags(cmd, &output)
	return cmd
}

func newNodeAvailabilityCmd(f *Factory, verb string) *cobra.Command {
	availability := map[string]string{"drain": "drain", "activate": "active", "pause": "pause"}[verb]
	short := map[string]string{
		"drain":    "Drain a node: swarm moves its apps to the other nodes, where their placement allows",
		"activate": "Make a drained or paused node take tasks again",
		"pause":    "Keep a node's tasks but schedule no new ones on it",
	}[verb]
	var output string
	cmd := &cobra.Command{
		Use:     verb + " NODE",
		Short:   short,
		Example: fmt.Sprintf("  stackhub node %s worker-1", verb),
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			n, err := c.SetNodeAvailability(cmd.Context(), args[0], availability)
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(f.IO.Out, n)
			}
			fmt.Fprintf(f.IO.Out, "Node %s is %s\n", n.Hostname, n.Availability)
			return nil
		},
	}
	addClientFlags(cmd, &output)
	return cmd
}

func newNodeRemoveCmd(f *Factory) *cobra.Command {
	var yes, force bool
	cmd := &cobra.Command{
		Use:     "remove NODE",
		Aliases: []string{"rm"},
		Short:   "Remove a node from the cluster",
		Long: "Remove a node from the cluster. Drain it first and run docker swarm leave on it; --force\n" +
			"removes a node that is down or still answers. Its apps are rescheduled on the other nodes where\n" +
			"their data allows it.",
		Example: "  stackhub node drain worker-1 && stackhub node remove worker-1 --yes",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := confirm(f, yes, fmt.Sprintf("Remove node %s from the cluster?", args[0])); err != nil {
				return err
			}
			c, err := f.Client(cmd)
			if err != nil {
				return err
			}
			if err := c.RemoveNode(cmd.Context(), args[0], force); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Removed node %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&force, "force", false, "remove the node even if it still answers or is down")
	addClientFlags(cmd, nil)
	return cmd
}
