package demo

import (
	"testing"

	"github.com/dtbase/dtbase"
)

func TestFarmModelIsValidGLB(t *testing.T) {
	b := FarmModel()
	format, err := dtbase.ValidateSiteModel(b, dtbase.DefaultSiteModelMaxBytes)
	if err != nil || format != dtbase.SiteFormatGLB {
		t.Fatalf("farm model: %q, %v", format, err)
	}
	t.Logf("farm model: %d bytes", len(b))
}
