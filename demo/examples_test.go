package demo

import (
	"os"
	"regexp"
	"testing"
)

// TestExampleNamesDemoSensor checks that the Python example model's
// command line names a sensor and measure the demo has, so a newcomer can
// run it as written.
func TestExampleNamesDemoSensor(t *testing.T) {
	src, err := os.ReadFile("../examples/model_service/forecast_model.py")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--sensor (\S+) --measure (\S+)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("the example shows no --sensor ID --measure NAME command line")
	}
	sensor, measure := string(m[1]), string(m[2])
	if _, ok := placements[sensor]; !ok {
		t.Errorf("the example names sensor %q, which the demo lacks", sensor)
	}
	found := false
	for _, st := range sensorTypes {
		for _, ms := range st.Measures {
			found = found || ms.Name == measure
		}
	}
	if !found {
		t.Errorf("the example names measure %q, which the demo lacks", measure)
	}
}
