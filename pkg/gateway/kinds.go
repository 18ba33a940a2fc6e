package gateway

import "github.com/flowenroll/flowenroll/pkg/outcome"

// Kind is what a request is for; each kind is counted.
type Kind uint8

// The kinds of request. Adding one: a constant here, a row in kindTable,
// a method on Gong that names it, and (if summary.json counts it) a field
// in outcome.RequestCounts.
const (
	Assign Kind = iota
	ReadBack
	FlowListing
	UserListing
	Unassign
	// BulkSubmit submits a bulk assignment; BulkPoll reads one.
	BulkSubmit
	BulkPoll
	numKinds
)

// kindInfo is what the gateway knows of a kind.
type kindInfo struct {
	// name is how the pacer learns answer times per kind and how logs
	// name the request.
	name string
	// field is the kind's own figure in RequestCounts; nil for a kind
	// counted only among the requests (an assign).
	field func(*outcome.RequestCounts) *int64
}

// kindTable is the one table of request kinds, indexed by Kind. A function
// rather than a package variable, so that nothing can change it.
func kindTable() [numKinds]kindInfo {
	return [numKinds]kindInfo{
		Assign:      {name: "assign"},
		ReadBack:    {name: "read-back", field: func(c *outcome.RequestCounts) *int64 { return &c.ReadBacks }},
		FlowListing: {name: "list flows", field: func(c *outcome.RequestCounts) *int64 { return &c.FlowListings }},
		UserListing: {name: "list users", field: func(c *outcome.RequestCounts) *int64 { return &c.UserListings }},
		Unassign:    {name: "unassign", field: func(c *outcome.RequestCounts) *int64 { return &c.Unassigns }},
		BulkSubmit:  {name: "bulk submit", field: func(c *outcome.RequestCounts) *int64 { return &c.BulkSubmits }},
		BulkPoll:    {name: "bulk read", field: func(c *outcome.RequestCounts) *int64 { return &c.BulkReads }},
	}
}

// String names the kind, as the pacer learns the answer times per kind.
func (k Kind) String() string {
	if k >= numKinds {
		return "unknown"
	}
	return kindTable()[k].name
}
