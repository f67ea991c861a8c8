package localrc

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// BenchmarkParse loads the full example lab file (decode, defaults, validation).
func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("testdata/config/full.hcl")
	if err != nil {
		b.Fatal(err)
	}
	env := testEnv("testdata/config", map[string]string{"XENLAB_TEST_PASSWORD": "x"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse("full.hcl", src, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport converts a realistic localrc, including the self-check parse.
func BenchmarkImport(b *testing.B) {
	src, err := os.ReadFile("testdata/import/havana-xenrc.localrc")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Import("havana-xenrc.localrc", src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportSize imports a localrc of every shape the importer
// handles (assignments, defaults, arrays, +=, service functions, blocks,
// credentials and references to them), at two lengths ten times apart: the
// cost per line (ns/line) stays about the same when the import is linear
// in its input, where the old importer's grew with the length.
func BenchmarkImportSize(b *testing.B) {
	for _, lines := range []int{2_000, 20_000} {
		src := mixedLocalrc(lines)
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Import("localrc", src); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/line")
		})
	}
}

// mixedLocalrc is a localrc of about n lines, which sets at most 1,500
// variables (Import refuses more than maxSettings): blocks past the 250th
// set the same names again.
func mixedLocalrc(n int) []byte {
	var s strings.Builder
	s.WriteString("XENAPI_CONNECTION_URL=http://192.0.2.10\nXENAPI_PASSWORD=hunter2hunter2\nADMIN_PASSWORD=s3cr3t-admin\nENABLED_SERVICES+=,q-svc,-n-net\n")
	for i := 0; strings.Count(s.String(), "\n") < n; i++ {
		fmt.Fprintf(&s, `# block %[1]d
LOGDIR_%[1]d="$DEST/logs/%[1]d"
export OPT_%[1]d=${OPT_%[1]d:-default-%[1]d}
SERVICE_PASSWORD_%[1]d=$ADMIN_PASSWORD
DB_%[1]d="mysql://root:${ADMIN_PASSWORD}@127.0.0.1/db%[1]d"
IMAGES_%[1]d=(a-%[1]d.img b-%[1]d.img)
enable_service q-agt q-domua
disable_service n-net
if [ -n "$X" ]; then
  Y_%[1]d=1
fi
`, i%250)
	}
	return []byte(s.String())
}
