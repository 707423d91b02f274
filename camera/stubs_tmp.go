package camera

func openSPIURI(rest string) (Source, error) { return nil, ErrBadURI }
