package api

func (s *Server) modelRoutes() {}
