package dtbase

// ServiceStore keeps services.
type ServiceStore interface {
}

// ServiceRunner calls services on demand and on their schedules.
type ServiceRunner interface {
}
