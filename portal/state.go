package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// StateFile records, in the portal's home, how its node was started, so that a restart with
// --home alone resumes it.
const StateFile = "portal.json"

// State is portal.json: the node's start-up settings, recorded on every start.
type State struct {
	Peers       []string `json:"peers"`
	P2PListen   string   `json:"p2p_listen"`
	P2PExternal string   `json:"p2p_external,omitempty"`
	RPCListen   string   `json:"rpc_listen,omitempty"`
	// DBName is the database the sync writes on a found or private server: a home and its
	// database go together, since the cursor there counts this node's blocks.
	DBName string `json:"db_name,omitempty"`
}

// resume fills the settings this start did not give from portal.json.
func (c *Config) resume() error {
	st, err := readState(c.Home)
	if err != nil || st == nil {
		return err
	}
	if !c.Given.Peers {
		c.Peers = st.Peers
	}
	if !c.Given.P2PListen {
		c.P2PListen = st.P2PListen
	}
	if !c.Given.P2PExternal {
		c.P2PExternal = st.P2PExternal
	}
	if !c.Given.RPCListen {
		c.RPCListen = st.RPCListen
	}
	if !c.Given.DBName && st.DBName != "" {
		c.DB.Name = st.DBName
	}
	return nil
}

// state is what this start records in portal.json.
func (c *Config) state() State {
	return State{Peers: c.Peers, P2PListen: c.P2PListen, P2PExternal: c.P2PExternal, RPCListen: c.RPCListen, DBName: c.DB.Name}
}

// readState reads portal.json; nil, nil means the home has none (a first start).
func readState(home string) (*State, error) {
	path := filepath.Join(home, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("portal state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("portal state %s: %w", path, err)
	}
	return &st, nil
}

// writeState records how the node started, for the next start to resume.
func writeState(home string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("portal state: %w", err)
	}
	path := filepath.Join(home, StateFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("portal state: %w", err)
	}
	return nil
}
