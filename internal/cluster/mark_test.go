package cluster

import (
	"slices"
	"testing"

	"sundial.dev/sundial/unit"
)

func TestReadMark(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Mark
		diags      []string
	}{
		{"local", "[Timer]\nOnCalendar=daily\n", Mark{}, nil},
		{"cluster", "[Timer]\nOnCalendar=daily\n[X-Sundial]\nCluster=yes\nNodes=web-* db1\nNodes=db[23]\n",
			Mark{Cluster: true, Nodes: []string{"web-*", "db1", "db[23]"}}, nil},
		{"nodes reset", "[Timer]\nOnCalendar=daily\n[X-Sundial]\nCluster=on\nNodes=a\nNodes=\nNodes=b\n", Mark{Cluster: true, Nodes: []string{"b"}}, nil},
		{"cluster off", "[Timer]\nOnCalendar=daily\n[X-Sundial]\nCluster=yes\nCluster=0\n", Mark{}, nil},
		{"mistakes", "[Timer]\nOnCalendar=daily\n[X-Sundial]\nCluster=sometimes\nNodes=a [b\nPlace=here\n", Mark{Nodes: []string{"a"}}, []string{
			"/u/t.timer:4: Failed to parse boolean value, ignoring: sometimes",
			"/u/t.timer:5: Invalid node name pattern in Nodes=, ignoring: [b",
			"/u/t.timer:6: Unknown key 'Place' in section [X-Sundial], ignoring.",
		}},
		{"boot", "[Timer]\nOnBootSec=5min\nOnCalendar=daily\n[X-Sundial]\nCluster=yes\n", Mark{Cluster: true}, []string{
			"/u/t.timer:2: OnBootSec= has no meaning for a cluster timer (Cluster=yes): its nodes did not boot together. Refusing.",
		}},
		{"startup", "[Timer]\nOnStartupSec=1h\n[X-Sundial]\nCluster=yes\n", Mark{Cluster: true}, []string{
			"/u/t.timer:2: OnStartupSec= has no meaning for a cluster timer (Cluster=yes): its nodes did not boot together. Refusing.",
		}},
		// Dropped by an empty OnBootSec=, or not a cluster timer: fine.
		{"boot dropped", "[Timer]\nOnBootSec=5min\nOnBootSec=\nOnCalendar=daily\n[X-Sundial]\nCluster=yes\n", Mark{Cluster: true}, nil},
		{"boot local", "[Timer]\nOnBootSec=5min\n[X-Sundial]\nCluster=no\n", Mark{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := unit.ParseText("t.timer", tc.text, unit.SystemScope)
			if err != nil {
				t.Fatal(err)
			}
			// The section is systemd's to ignore: no diagnostic of the
			// unit's own about it.
			for _, d := range u.Diagnostics {
				t.Errorf("ParseText: %s", d)
			}
			m, diags := ReadMark(u)
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if m.Cluster != tc.want.Cluster || !slices.Equal(m.Nodes, tc.want.Nodes) || !slices.Equal(got, tc.diags) {
				t.Errorf("ReadMark = %+v, %q; want %+v, %q", m, got, tc.want, tc.diags)
			}
		})
	}
}
