package service

import (
	"github.com/gofiber/fiber/v2"

	"github.com/stackhub/stackhub/engine"
	"github.com/stackhub/stackhub/service/apitype"
)

func toNodeDTO(n *engine.Node) apitype.Node {
	labels := n.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return apitype.Node{
		ID: n.ID, Hostname: n.Hostname, Role: n.Role, Leader: n.Leader, Availability: n.Availability,
		State: n.State, Message: n.Message, Addr: n.Addr, Labels: labels,
		CPUs: float64(n.NanoCPUs) / 1e9, MemoryBytes: n.MemoryBytes, Architecture: n.Architecture,
		OS: n.OS, EngineVersion: n.EngineVersion, Tasks: n.Tasks,
	}
}

// listNodes answers the swarm cluster's nodes: {"nodes":[...]}.
func (s *Server) listNodes(c *fiber.Ctx) error {
	nodes, err := s.eng.Nodes(c.UserContext())
	if err != nil {
		return err
	}
	out := apitype.NodeList{Nodes: make([]apitype.Node, 0, len(nodes))}
	for i := range nodes {
		out.Nodes = append(out.Nodes, toNodeDTO(&nodes[i]))
	}
	return c.JSON(out)
}

// nodeJoin answers the command that joins a new node: body
// {"manager":true} for a manager. The answer holds the join token (a
// secret): admins only, never logged.
func (s *Server) nodeJoin(c *fiber.Ctx) error {
	var req struct {
		Manager bool `json:"manager"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	j, err := s.eng.NodeJoin(c.UserContext(), req.Manager)
	if err != nil {
		return err
	}
	s.audit(c, "node-join-token", j.Role, "")
	return c.JSON(apitype.JoinCommand{Role: j.Role, Token: j.Token, Manager: j.Manager, Command: j.Command})
}

// setNodeAvailability drains, pauses or activates a node: body
// {"availability":"drain"}; it answers the node.
func (s *Server) setNodeAvailability(c *fiber.Ctx) error {
	var req struct {
		Availability string `json:"availability"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	n, err := s.eng.SetNodeAvailability(c.UserContext(), c.Params("id"), req.Availability)
	if err != nil {
		return err
	}
	s.audit(c, "node-"+req.Availability, n.Hostname, "")
	return c.JSON(toNodeDTO(n))
}

// removeNode removes a node from the cluster; ?force=true removes one that
// still answers.
func (s *Server) removeNode(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.eng.RemoveNode(c.UserContext(), id, c.QueryBool("force")); err != nil {
		return err
	}
	s.audit(c, "node-remove", id, "")
	return c.SendStatus(fiber.StatusNoContent)
}
