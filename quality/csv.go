package quality

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/dtbase/dtbase"
)

// CSVHeader is the header row of WriteCSV.
const CSVHeader = "kind,start,end,length_seconds,value,readings,coverage_percent"

// WriteCSV writes a report as CSV, one row per day, gap, flatline and
// out-of-range reading; kind says which.
func WriteCSV(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	b := append(make([]byte, 0, 256), CSVHeader+"\r\n"...)
	row := func(kind string, start, end time.Time, value, readings, coverage string) {
		b = append(b[:0], kind...)
		b = append(b, ',')
		b = dtbase.AppendTime(b, start)
		b = append(b, ',')
		b = dtbase.AppendTime(b, end)
		b = append(b, ',')
		b = strconv.AppendFloat(b, end.Sub(start).Seconds(), 'g', -1, 64)
		b = append(b, ',')
		b = append(b, value...)
		b = append(b, ',')
		b = append(b, readings...)
		b = append(b, ',')
		b = append(b, coverage...)
		b = append(b, '\r', '\n')
		bw.Write(b)
	}
	bw.Write(b)
	for _, d := range rep.Days {
		row("day", d.Date, d.Date.Add(24*time.Hour), "", strconv.Itoa(d.Readings), strconv.FormatFloat(d.Coverage, 'f', 2, 64))
	}
	for _, g := range rep.Gaps {
		row("gap", g.Start, g.End, "", "", "")
	}
	for _, f := range rep.Flatlines {
		row("flatline", f.Start, f.End, strconv.FormatFloat(f.Value, 'g', -1, 64), strconv.Itoa(f.Readings), "")
	}
	for _, o := range rep.OutOfRange {
		row("out_of_range", o.Time, o.Time, string(o.Value.AppendJSON(nil)), "", "")
	}
	return bw.Flush()
}
