"""One module per screen: home, lesson reader, quiz, exercise, help, doctor."""
