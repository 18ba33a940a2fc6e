package console

import (
	"encoding/json"
	"testing"
)

// A report export with title rows above the header and the report's footer
// below the data goes through the console as through run: the header is
// found by itself, the footer is not counted, the rows keep the file's own
// line numbers, and a fix by code mends a misspelled flow (issue #21).
func TestTitleRowsAndFooterInTheConsole(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	file := "Gong Engage Candidates - Q4\nFiltered By: Owner equals Ava Reyes\n\n" + prospectsCSV("003T", 3) +
		"\n\"Confidential Information - Do Not Distribute\"\n\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\"\n"
	_, run := c.upload(t, "report.csv", file, nil)
	if run.Plan.Rows != 3 || run.Plan.Valid != 3 {
		t.Fatalf("plan %+v: want 3 rows, all valid (the titles and the footer are not rows)", run.Plan)
	}
	c.post(t, "/api/v1/runs/"+run.ID+"/start")
	c.await(t, run.ID, ended)
	got, _ := c.srv.st.Get(run.ID)
	var sum struct {
		RowsRead int `json:"rowsRead"`
		Assigned int `json:"assigned"`
	}
	if err := json.Unmarshal(got.Summary, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != 3 || sum.Assigned != 3 {
		t.Errorf("summary: %d rows read, %d assigned; want 3 and 3\n%s", sum.RowsRead, sum.Assigned, got.Summary)
	}
}
