package api

func (s *Server) locationRoutes() {}
