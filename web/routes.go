package web

import (
	"net/http"

	"github.com/dtbase/dtbase"
)

// routes registers every path of the web interface: the whole site map, in
// the order of the menu. Each path names the least role that may use it and
// how its handler answers:
//   - h.page renders a page (a GET, or a POST that answers with a page);
//   - h.action handles a form and redirects back with a message
//     (post/redirect/get);
//   - h.api serves an island's data under /ui/api/.
//
// All three require a session, and a CSRF token for anything but GET.
func (h *Handler) routes() {
	m := h.mux
	m.Handle("GET /static/", http.StripPrefix("/static/", h.static))
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/favicon.svg"
		h.static.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /login", h.loginPage)
	m.HandleFunc("POST /login", h.loginSubmit)
	m.HandleFunc("GET /logout", h.logout)
	m.HandleFunc("POST /logout", h.logout)

	viewer, editor, admin := dtbase.RoleViewer, dtbase.RoleEditor, dtbase.RoleAdmin
	// dashboard.go; users.go (one's own account)
	m.Handle("GET /{$}", h.page(viewer, h.dashboard))
	m.Handle("GET /account", h.page(viewer, h.accountPage))
	m.Handle("POST /account/password", h.action(viewer, h.changeOwnPassword))
	m.Handle("POST /account/logout-everywhere", h.action(viewer, h.signOutEverywhere))

	// sensors.go
	m.Handle("GET /sensors", h.page(viewer, h.sensorsPage))
	m.Handle("GET /sensors/types/new", h.page(editor, h.newSensorTypePage))
	m.Handle("POST /sensors/types/create", h.action(editor, h.createSensorType))
	m.Handle("POST /sensors/types/delete", h.action(editor, h.deleteSensorType))
	m.Handle("POST /sensors/types/retention", h.action(admin, h.setSensorTypeRetention))
	m.Handle("GET /sensors/new", h.page(editor, h.newSensorPage))
	m.Handle("POST /sensors/create", h.action(editor, h.createSensor))
	m.Handle("GET /sensors/view", h.page(viewer, h.sensorPage))
	m.Handle("POST /sensors/edit", h.action(editor, h.editSensor))
	m.Handle("POST /sensors/delete", h.action(editor, h.deleteSensor))
	m.Handle("POST /sensors/place", h.action(editor, h.placeSensor))

	// readings.go, upload.go
	m.Handle("GET /explorer", h.page(viewer, h.explorerPage))
	m.Handle("GET /readings", h.page(viewer, h.readingsPage))
	m.Handle("GET /ui/api/series", h.api(viewer, h.seriesJSON))
	m.Handle("GET /ui/api/plots", h.api(viewer, h.plotsJSON))
	m.Handle("GET /ui/api/readings.csv", h.api(viewer, h.readingsCSV))
	m.Handle("GET /readings/upload", h.page(editor, h.uploadPage))
	m.Handle("POST /ui/api/readings/check", h.api(editor, h.checkReadingsCSV))
	m.Handle("POST /ui/api/readings/upload", h.api(editor, h.uploadReadingsCSV))

	// locations.go
	m.Handle("GET /locations", h.page(viewer, h.locationsPage))
	m.Handle("POST /locations/schemas/create", h.action(editor, h.createSchema))
	m.Handle("POST /locations/schemas/delete", h.action(editor, h.deleteSchema))
	m.Handle("GET /locations/schema", h.page(viewer, h.schemaPage))
	m.Handle("POST /locations/create", h.action(editor, h.createLocation))
	m.Handle("POST /locations/edit", h.action(editor, h.editLocation))
	m.Handle("POST /locations/delete", h.action(editor, h.deleteLocation))

	// site.go: a schema's 3D model with its sensors
	m.Handle("GET /site", h.page(viewer, h.sitePage))
	m.Handle("GET /ui/api/site", h.api(viewer, h.siteStateJSON))
	m.Handle("GET /ui/api/site-model", h.api(viewer, h.siteModelFile))
	m.Handle("GET /ui/api/site-replay", h.api(viewer, h.siteReplayJSON))
	m.Handle("POST /site/upload", h.action(editor, h.uploadSiteModel))
	m.Handle("POST /site/placement", h.action(editor, h.saveSitePlacement))
	m.Handle("POST /site/place", h.action(editor, h.placeLocation))

	// tree.go, map.go, quality.go
	m.Handle("GET /tree", h.page(viewer, h.treePage))
	m.Handle("POST /tree/move", h.action(editor, h.moveLocation))
	m.Handle("GET /map", h.page(viewer, h.mapPage))
	m.Handle("GET /quality", h.page(viewer, h.qualityPage))
	m.Handle("GET /quality.csv", h.page(viewer, h.qualityCSV))

	// models.go
	m.Handle("GET /models", h.page(viewer, h.modelsPage))
	m.Handle("POST /models/create", h.action(editor, h.createModel))
	m.Handle("POST /models/delete", h.action(editor, h.deleteModel))
	m.Handle("POST /models/scenarios/create", h.action(editor, h.createScenario))
	m.Handle("POST /models/scenarios/delete", h.action(editor, h.deleteScenario))
	m.Handle("GET /models/run", h.page(viewer, h.modelRunPage))
	m.Handle("POST /models/run/delete", h.action(editor, h.deleteModelRun))
	m.Handle("GET /ui/api/model-run.csv", h.api(viewer, h.modelRunCSV))

	// services.go
	m.Handle("GET /services", h.page(viewer, h.servicesPage))
	m.Handle("POST /services/create", h.action(editor, h.createService))
	m.Handle("POST /services/delete", h.action(editor, h.deleteService))
	m.Handle("GET /services/view", h.page(viewer, h.servicePage))
	m.Handle("POST /services/params/save", h.action(editor, h.saveParameterSet))
	m.Handle("POST /services/params/delete", h.action(editor, h.deleteParameterSet))
	m.Handle("POST /services/run", h.action(editor, h.runService))
	m.Handle("POST /services/runs/cancel", h.action(editor, h.cancelRun))
	m.Handle("POST /services/schedules/create", h.action(editor, h.createSchedule))
	m.Handle("POST /services/schedules/toggle", h.action(editor, h.toggleSchedule))
	m.Handle("POST /services/schedules/delete", h.action(editor, h.deleteSchedule))

	// alerts.go
	m.Handle("GET /alerts", h.page(viewer, h.alertsPage))
	m.Handle("POST /alerts/acknowledge", h.action(editor, h.acknowledgeAlert))
	m.Handle("POST /alerts/silence", h.action(editor, h.silenceRule))
	m.Handle("POST /alerts/rules/delete", h.action(editor, h.deleteAlertRule))
	m.Handle("POST /alerts/channels/create", h.action(editor, h.createChannel))
	m.Handle("POST /alerts/channels/test", h.action(editor, h.testChannel))
	m.Handle("POST /alerts/channels/delete", h.action(editor, h.deleteChannel))
	m.Handle("GET /alerts/rule", h.page(editor, h.ruleEditor))
	m.Handle("POST /alerts/rule", h.page(editor, h.ruleEditor))

	// users.go: users and API keys
	m.Handle("GET /users", h.page(admin, h.usersPage))
	m.Handle("POST /users/create", h.action(admin, h.createUser))
	m.Handle("POST /users/delete", h.action(admin, h.deleteUser))
	m.Handle("POST /users/password", h.action(admin, h.setUserPassword))
	m.Handle("POST /users/role", h.action(admin, h.setUserRole))
	m.Handle("POST /users/keys/create", h.page(admin, h.createAPIKey))
	m.Handle("POST /users/keys/revoke", h.action(admin, h.revokeAPIKey))

	m.Handle("/", h.page(viewer, func(w http.ResponseWriter, r *http.Request, s *session) error {
		h.errorPage(w, r, s, http.StatusNotFound, "Page not found", "There is no page at "+r.URL.Path+".")
		return nil
	}))
}
