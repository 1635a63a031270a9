<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
  <context>
    <name>Think2Map</name>
    <message>
      <location filename="../plugin/core/async_call.py" line="64" />
      <source>no answer</source>
      <translation>pas de réponse</translation>
    </message>
    <message>
      <location filename="../plugin/core/async_call.py" line="65" />
      <source>The backend did not answer: {error}</source>
      <translation>Le moteur n'a pas répondu : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/blocking.py" line="133" />
      <source>Canceled while the backend was starting.</source>
      <translation>Annulé pendant le démarrage du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/blocking.py" line="137" />
      <source>The backend did not start within {s} s.</source>
      <translation>Le moteur n'a pas démarré en {s} s.</translation>
    </message>
    <message>
      <location filename="../plugin/core/blocking.py" line="139" />
      <source>The backend stopped unexpectedly (exit code {code}).</source>
      <translation>Le moteur s'est arrêté de façon inattendue (code de sortie {code}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="174" />
      <source>The request to the backend was canceled.</source>
      <translation>La requête au moteur a été annulée.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="187" />
      <source>The upload was cancelled.</source>
      <translation>L’envoi a été annulé.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="198" />
      <source>The backend sent an answer that is not JSON: {text}</source>
      <translation>Le moteur a envoyé une réponse qui n'est pas du JSON : {text}</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="208" />
      <source>The backend at {url} did not answer in time.</source>
      <translation>Le moteur à {url} n'a pas répondu à temps.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="210" />
      <source>The backend at {url} closed the connection before it finished answering.</source>
      <translation>Le moteur à {url} a fermé la connexion avant la fin de sa réponse.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="212" />
      <source>No backend is listening at {url}: start it (Think2Map settings) or check the URL.</source>
      <translation>Aucun moteur n'écoute à {url} : démarrez-le (paramètres de Think2Map) ou vérifiez l'URL.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="215" />
      <source>Could not reach the backend at {url}: {error}</source>
      <translation>Impossible de joindre le moteur à {url} : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="251" />
      <source>The backend answered HTTP {status}.</source>
      <translation>Le moteur a répondu HTTP {status}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/export.py" line="113" />
      <source>{w:,} × {h:,} px ({mb:,.0f} MB)</source>
      <translation>{w:,} × {h:,} px ({mb:,.0f} Mo)</translation>
    </message>
    <message>
      <location filename="../plugin/core/export.py" line="115" />
      <source>from about {n:,} web tiles</source>
      <translation>depuis environ {n:,} tuiles web</translation>
    </message>
    <message>
      <location filename="../plugin/core/export.py" line="121" />
      <source>The area to search is less than a pixel of '{name}'.</source>
      <translation>La zone à chercher fait moins d’un pixel de « {name} ».</translation>
    </message>
    <message>
      <location filename="../plugin/core/export.py" line="123" />
      <source>Searching this area of '{name}' would fetch {size}, more than the limit of {limit:,} pixels. Zoom in, or draw a smaller rectangle.</source>
      <translation>Chercher dans cette zone de « {name} » téléchargerait {size}, plus que la limite de {limit:,} pixels. Zoomez, ou dessinez un rectangle plus petit.</translation>
    </message>
    <message>
      <location filename="../plugin/core/export.py" line="255" />
      <source>QGIS cannot read '{name}' for export.</source>
      <translation>QGIS ne peut pas lire « {name} » pour l’exporter.</translation>
    </message>
    <message>
      <location filename="../plugin/core/export.py" line="272" />
      <source>QGIS could not export '{name}' (error {code}).</source>
      <translation>QGIS n’a pas pu exporter « {name} » (erreur {code}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/export.py" line="286" />
      <source>Think2Map: fetch {name}</source>
      <translation>Think2Map : téléchargement de {name}</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="107" />
      <source>Choose a raster layer to search.</source>
      <translation>Choisissez une couche raster à analyser.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="109" />
      <source>'{name}' is not a raster layer: choose an image (raster) layer.</source>
      <translation>« {name} » n'est pas une couche raster : choisissez une couche image (raster).</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="111" />
      <source>The raster '{name}' cannot be read: check its source.</source>
      <translation>Le raster « {name} » est illisible : vérifiez sa source.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="118" />
      <source>The raster file {path} does not exist.</source>
      <translation>Le fichier raster {path} n'existe pas.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="40" />
      <source>The area to search is empty.</source>
      <translation>La zone à analyser est vide.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="48" />
      <source>The area could not be converted to the raster's CRS ({crs}): {error}</source>
      <translation>La zone n'a pas pu être convertie dans le SCR du raster ({crs}) : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="54" />
      <source>The area could not be converted to the raster's CRS ({crs}).</source>
      <translation>La zone n'a pas pu être convertie dans le SCR du raster ({crs}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="59" />
      <source>The area does not overlap the raster '{name}': pan or zoom to it, or draw a rectangle over it.</source>
      <translation>La zone ne recouvre pas le raster « {name} » : déplacez-vous ou zoomez dessus, ou tracez un rectangle sur lui.</translation>
    </message>
    <message>
      <location filename="../plugin/core/interpreter_check.py" line="100" />
      <source>{python} did not answer within {s} s: is it the backend environment's Python?</source>
      <translation>{python} n'a pas répondu en {s} s : est-ce bien le Python de l'environnement du moteur ?</translation>
    </message>
    <message>
      <location filename="../plugin/core/interpreter_check.py" line="78" />
      <source>no message</source>
      <translation>aucun message</translation>
    </message>
    <message>
      <location filename="../plugin/core/interpreter_check.py" line="81" />
      <source>{python} cannot run the backend ({error}). {hint}</source>
      <translation>{python} ne peut pas faire tourner le moteur ({error}). {hint}</translation>
    </message>
    <message>
      <location filename="../plugin/core/interpreter_check.py" line="90" />
      <source>{python} could not be started: {error}. {hint}</source>
      <translation>{python} n'a pas pu être lancé : {error}. {hint}</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="102" />
      <source>The backend's Python lacks packages: run `make setup`, or choose the venv's Python in settings.</source>
      <translation>Il manque des paquets au Python du moteur : lancez `make setup`, ou choisissez le Python du venv dans les paramètres.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="104" />
      <source>The backend does not accept these options: check the extra arguments in Think2Map settings.</source>
      <translation>Le moteur n'accepte pas ces options : vérifiez les arguments supplémentaires dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="106" />
      <source>The port is taken: restart the backend.</source>
      <translation>Le port est occupé : redémarrez le moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="22" />
      <source>Press “Set up the backend…” in the Think2Map panel, or set the backend Python in Think2Map settings (from a checkout: `make setup`).</source>
      <translation>Cliquez sur « Installer le moteur… » dans le panneau Think2Map, ou indiquez le Python du moteur dans les paramètres de Think2Map (depuis une copie du dépôt : `make setup`).</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="60" />
      <source>No backend Python is configured.</source>
      <translation>Aucun Python de moteur n'est configuré.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="63" />
      <source>The backend Python {path} does not exist.</source>
      <translation>Le Python du moteur {path} n'existe pas.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="65" />
      <source>The backend Python {path} is not executable.</source>
      <translation>Le Python du moteur {path} n'est pas exécutable.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="67" />
      <source>The backend package is missing from {root}: reinstall the plugin.</source>
      <translation>Le paquet du moteur manque dans {root} : réinstallez l'extension.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="74" />
      <source>it exited with code {code}</source>
      <translation>il s'est arrêté avec le code {code}</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="79" />
      <source>it was killed by signal {number} ({name})</source>
      <translation>il a été tué par le signal {number} ({name})</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="81" />
      <source>(the system may have run out of memory)</source>
      <translation>(le système a peut-être manqué de mémoire)</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="137" />
      <source>Could not create the result layer in {path}: {error}</source>
      <translation>Impossible de créer la couche de résultats dans {path} : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="141" />
      <source>Could not open the result layer for '{query}'.</source>
      <translation>Impossible d'ouvrir la couche de résultats pour « {query} ».</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="155" />
      <source>Could not write features to {layer}: {error}</source>
      <translation>Impossible d'écrire les entités dans {layer} : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="226" />
      <source>Overview boxes · {name}</source>
      <translation>Boîtes de la vue d'ensemble · {name}</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="55" />
      <source>query</source>
      <translation>requête</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="104" />
      <source>{path} has no coordinate reference system: assign one (Raster ▸ Projections ▸ Assign Projection), or tick Pixel coordinates in Advanced options.</source>
      <translation>{path} n'a pas de système de coordonnées de référence : attribuez-en un (Raster ▸ Projections ▸ Assigner une projection), ou cochez Coordonnées pixel dans les Options avancées.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="108" />
      <source>{path} has no coordinate reference system: assign one (Raster ▸ Projections ▸ Assign Projection), or set the Pixel coordinates parameter.</source>
      <translation>{path} n'a pas de système de coordonnées de référence : attribuez-en un (Raster ▸ Projections ▸ Assigner une projection), ou activez le paramètre Coordonnées pixel.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="114" />
      <source>{path} is not georeferenced: nothing says where its pixels lie. Georeference it (Layer ▸ Georeferencer), or tick Pixel coordinates in Advanced options.</source>
      <translation>{path} n'est pas géoréférencé : rien ne dit où se trouvent ses pixels. Géoréférencez-le (Couche ▸ Géoréférenceur), ou cochez Coordonnées pixel dans les Options avancées.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="118" />
      <source>{path} is not georeferenced: nothing says where its pixels lie. Georeference it (Layer ▸ Georeferencer), or set the Pixel coordinates parameter.</source>
      <translation>{path} n'est pas géoréférencé : rien ne dit où se trouvent ses pixels. Géoréférencez-le (Couche ▸ Géoréférenceur), ou activez le paramètre Coordonnées pixel.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="124" />
      <source>The raster's bands cannot be used: give one band or three (red, green, blue) in Advanced options.</source>
      <translation>Les bandes du raster sont inutilisables : indiquez une bande ou trois (rouge, vert, bleu) dans les Options avancées.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="127" />
      <source>The raster's bands cannot be read as one grey band or three colour bands.</source>
      <translation>Les bandes du raster ne se lisent ni comme une bande de gris ni comme trois bandes de couleur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="130" />
      <source>The raster has {bands} band(s), so there is no band {band}: change Bands in Advanced options.</source>
      <translation>Le raster a {bands} bande(s), il n'y a donc pas de bande {band} : changez Bandes dans les Options avancées.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="131" />
      <source>The raster has {bands} band(s), so there is no band {band}.</source>
      <translation>Le raster a {bands} bande(s), il n'y a donc pas de bande {band}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="133" />
      <source>The area to search is not a valid rectangle.</source>
      <translation>La zone à analyser n'est pas un rectangle valide.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="135" />
      <source>The area does not overlap the raster: pan or zoom to it, or draw a rectangle over it.</source>
      <translation>La zone ne recouvre pas le raster : déplacez-vous ou zoomez dessus, ou tracez un rectangle sur lui.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="136" />
      <source>The area to search does not overlap the raster.</source>
      <translation>La zone à analyser ne recouvre pas le raster.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="138" />
      <source>Every pixel of {path} in this area is nodata: there is nothing to search.</source>
      <translation>Tous les pixels de {path} dans cette zone sont sans donnée : il n'y a rien à analyser.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="139" />
      <source>The raster {path} changed or vanished while it was searched; run the query again.</source>
      <translation>Le raster {path} a changé ou disparu pendant l'analyse ; relancez la requête.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="141" />
      <source>This area needs {tiles} tiles, more than the limit of {limit}: choose a smaller area (Current map extent, or a rectangle drawn on the map), a larger tile size, or raise the tile limit in Advanced options.</source>
      <translation>Cette zone demande {tiles} tuiles, plus que la limite de {limit} : choisissez une zone plus petite (Emprise actuelle de la carte, ou un rectangle tracé sur la carte), des tuiles plus grandes, ou relevez la limite de tuiles dans les Options avancées.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="146" />
      <source>This area needs {tiles} tiles, more than the limit of {limit}: choose a smaller Area to search, a larger Tile size, or raise the Tile limit parameter.</source>
      <translation>Cette zone demande {tiles} tuiles, plus que la limite de {limit} : choisissez une Zone à analyser plus petite, une Taille des tuiles plus grande, ou relevez le paramètre Limite de tuiles.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="152" />
      <source>The backend does not know the model '{name}': choose one from the list, or give a local folder or checkpoint.</source>
      <translation>Le moteur ne connaît pas le modèle '{name}' : choisissez-en un dans la liste, ou indiquez un dossier ou un fichier de poids local.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="156" />
      <source>There is no model file or folder at {name}.</source>
      <translation>Il n'y a pas de fichier ou de dossier de modèle à {name}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="157" />
      <source>'{name}' is not a {kind}: choose a {kind} there.</source>
      <translation>'{name}' n'est pas un {kind} : choisissez-y un {kind}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="159" />
      <source>The {kind} '{name}' is not downloaded yet: click Download beside the models, or choose another.</source>
      <translation>Le {kind} '{name}' n'est pas encore téléchargé : cliquez sur Télécharger à côté des modèles, ou choisissez-en un autre.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="160" />
      <source>The {kind} '{name}' is not downloaded yet: download it from the Think2Map panel, or run 'python -m backend models pull {name}' in the backend's environment.</source>
      <translation>Le {kind} '{name}' n'est pas encore téléchargé : téléchargez-le depuis le panneau Think2Map, ou lancez 'python -m backend models pull {name}' dans l'environnement du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="165" />
      <source>A model could not be loaded: its files are incomplete or of a kind Think2Map does not know.</source>
      <translation>Un modèle n'a pas pu être chargé : ses fichiers sont incomplets ou d'un type que Think2Map ne connaît pas.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="166" />
      <source>This server does not download models: ask its administrator to install '{name}'.</source>
      <translation>Ce serveur ne télécharge pas de modèles : demandez à son administrateur d'installer '{name}'.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="167" />
      <source>The download failed: check the network connection (and the proxy in QGIS's options), then try again.</source>
      <translation>Le téléchargement a échoué : vérifiez la connexion réseau (et le proxy dans les options de QGIS), puis réessayez.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="170" />
      <source>The backend does not know the device '{device}': choose auto, cpu or cuda in Think2Map settings.</source>
      <translation>Le moteur ne connaît pas le périphérique '{device}' : choisissez auto, cpu ou cuda dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="173" />
      <source>The device '{device}' needs a GPU that the backend cannot use: choose auto or cpu in Think2Map settings, or install PyTorch with CUDA in the backend's environment.</source>
      <translation>Le périphérique '{device}' demande un GPU que le moteur ne peut pas utiliser : choisissez auto ou cpu dans les paramètres de Think2Map, ou installez PyTorch avec CUDA dans l'environnement du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="177" />
      <source>This backend cannot load a segmenter for clicks.</source>
      <translation>Ce moteur ne peut pas charger de segmenteur pour les clics.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="179" />
      <source>Click on the object, or drag a box around it.</source>
      <translation>Cliquez sur l'objet, ou tracez un cadre autour.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="180" />
      <source>The click could not be placed on the raster.</source>
      <translation>Le clic n'a pas pu être placé sur le raster.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="181" />
      <source>The box has no size: drag a rectangle around the object.</source>
      <translation>Le cadre n'a pas de taille : tracez un rectangle autour de l'objet.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="182" />
      <source>Click at least once inside the object (a left click).</source>
      <translation>Cliquez au moins une fois dans l'objet (clic gauche).</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="183" />
      <source>The click or the box lies outside the raster.</source>
      <translation>Le clic ou le cadre est en dehors du raster.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="184" />
      <source>{points} points are more than the {max} one outline takes: add this one and start anew.</source>
      <translation>{points} points, c'est plus que les {max} qu'accepte un contour : ajoutez celui-ci et recommencez.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="187" />
      <source>A newer click replaced this one.</source>
      <translation>Un clic plus récent a remplacé celui-ci.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="188" />
      <source>The segmenter failed on this click.</source>
      <translation>Le segmenteur a échoué sur ce clic.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="190" />
      <source>The backend could not load the models.</source>
      <translation>Le moteur n'a pas pu charger les modèles.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="192" />
      <source>The GPU ran out of memory: choose a smaller tile size (Advanced options) or a smaller segmenter, or close other programs that use the GPU.</source>
      <translation>Le GPU a manqué de mémoire : choisissez des tuiles plus petites (Options avancées) ou un segmenteur plus petit, ou fermez les autres programmes qui utilisent le GPU.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="196" />
      <source>The GPU ran out of memory: choose a smaller Tile size or a smaller Segmenter, or close other programs that use the GPU.</source>
      <translation>Le GPU a manqué de mémoire : choisissez une Taille des tuiles plus petite ou un Segmenteur plus petit, ou fermez les autres programmes qui utilisent le GPU.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="20" />
      <source>The backend reported a problem it did not name ({code}).</source>
      <translation>Le moteur a signalé un problème sans le nommer ({code}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="201" />
      <source>The job stopped on an unexpected error in the backend.</source>
      <translation>Le travail s'est arrêté sur une erreur inattendue du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="203" />
      <source>{path}: the backend does not write this format.</source>
      <translation>{path} : le moteur n'écrit pas ce format.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="204" />
      <source>{path} cannot be used as an output.</source>
      <translation>{path} ne peut pas servir de sortie.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="205" />
      <source>{path} already exists.</source>
      <translation>{path} existe déjà.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="206" />
      <source>'{layer}' cannot be a GeoPackage layer name.</source>
      <translation>« {layer} » ne peut pas être un nom de couche GeoPackage.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="207" />
      <source>{path} is the input raster: choose another output.</source>
      <translation>{path} est le raster d'entrée : choisissez une autre sortie.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="208" />
      <source>{path} cannot be written: choose a folder you can write to.</source>
      <translation>{path} ne peut pas être écrit : choisissez un dossier où vous pouvez écrire.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="209" />
      <source>Writing {path} failed.</source>
      <translation>L'écriture de {path} a échoué.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="210" />
      <source>The disk holding {path} is full: free some space or choose another folder.</source>
      <translation>Le disque qui contient {path} est plein : libérez de la place ou choisissez un autre dossier.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="211" />
      <source>A shared server needs a data folder.</source>
      <translation>Un serveur partagé a besoin d'un dossier de données.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="212" />
      <source>The evaluation dataset is incomplete.</source>
      <translation>Le jeu de données d'évaluation est incomplet.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="214" />
      <source>The remote backend cannot read this raster and takes no uploads: put the raster in one of its data folders, or ask its administrator to allow uploads (--uploads-mb).</source>
      <translation>Le moteur distant ne peut pas lire ce raster et n’accepte pas d’envoi : placez le raster dans l’un de ses dossiers de données, ou demandez à son administrateur d’autoriser les envois (--uploads-mb).</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="218" />
      <source>The area is larger than the remote backend takes ({max_mb} MB): zoom in, or draw a smaller rectangle.</source>
      <translation>La zone dépasse ce que le moteur distant accepte ({max_mb} Mo) : zoomez, ou dessinez un rectangle plus petit.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="221" />
      <source>The remote backend's room for uploads ({limit_mb} MB) is full: try again in a while.</source>
      <translation>L’espace du moteur distant pour les envois ({limit_mb} Mo) est plein : réessayez dans un moment.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="222" />
      <source>The remote backend could not read the area QGIS sent it.</source>
      <translation>Le moteur distant n’a pas pu lire la zone que QGIS lui a envoyée.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="37" />
      <source>more than {max}</source>
      <translation>plus de {max}</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="39" />
      <source>prompter</source>
      <translation>modèle d'invite</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="39" />
      <source>segmenter</source>
      <translation>segmenteur</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="47" />
      <source>The backend does not understand this request: update the plugin and the backend to one version.</source>
      <translation>Le moteur ne comprend pas cette demande : mettez l'extension et le moteur à la même version.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="50" />
      <source>The backend refused the request.</source>
      <translation>Le moteur a refusé la demande.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="51" />
      <source>The backend refused the value of '{field}'.</source>
      <translation>Le moteur a refusé la valeur de '{field}'.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="52" />
      <source>The request is larger than the backend accepts ({max_kb} KB).</source>
      <translation>La demande est plus grande que ce qu'accepte le moteur ({max_kb} Ko).</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="53" />
      <source>The backend refused the token: check the token in Think2Map settings.</source>
      <translation>Le moteur a refusé le jeton : vérifiez le jeton dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="56" />
      <source>The backend answered with an error.</source>
      <translation>Le moteur a répondu par une erreur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="57" />
      <source>An option is out of the backend's range.</source>
      <translation>Une option sort des limites du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="59" />
      <source>The tile size must be between {min} and {max} pixels (it is {value}): change it in Advanced options.</source>
      <translation>La taille des tuiles doit être comprise entre {min} et {max} pixels (elle est de {value}) : changez-la dans les Options avancées.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="62" />
      <source>The tile size must be between {min} and {max} pixels (it is {value}).</source>
      <translation>La taille des tuiles doit être comprise entre {min} et {max} pixels (elle est de {value}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="65" />
      <source>The overlap must be at most half the tile size: {max} pixels for tiles of {tile_size} (it is {value}). Lower it in Advanced options, or raise the tile size.</source>
      <translation>Le recouvrement doit être au plus la moitié de la taille des tuiles : {max} pixels pour des tuiles de {tile_size} (il est de {value}). Baissez-le dans les Options avancées, ou agrandissez les tuiles.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="69" />
      <source>The overlap must be at most half the tile size: {max} pixels for tiles of {tile_size} (it is {value}). Lower the Tile overlap, or raise the Tile size.</source>
      <translation>Le recouvrement doit être au plus la moitié de la taille des tuiles : {max} pixels pour des tuiles de {tile_size} (il est de {value}). Baissez le Recouvrement des tuiles, ou augmentez la Taille des tuiles.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="74" />
      <source>The tile limit must be at least 1.</source>
      <translation>La limite de tuiles doit être d'au moins 1.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="75" />
      <source>The minimum area must be 0 pixels or more.</source>
      <translation>La surface minimale doit être de 0 pixel ou plus.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="76" />
      <source>This strategy setting cannot be used: choose every tile, the overview first or automatic, and keep the overview's zoom and the tile sample in their ranges.</source>
      <translation>Ce réglage de stratégie est inutilisable : choisissez toutes les tuiles, la vue d'ensemble d'abord ou automatique, et gardez le zoom de la vue d'ensemble et l'échantillon de tuiles dans leurs limites.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="81" />
      <source>Type what to look for, for example: the river.</source>
      <translation>Tapez ce qu'il faut chercher, par exemple : la rivière.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="82" />
      <source>Type what to look for in the Query parameter, for example: the river.</source>
      <translation>Tapez ce qu'il faut chercher dans le paramètre Requête, par exemple : la rivière.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="84" />
      <source>The query is {length} characters long; keep it to {max} at most.</source>
      <translation>La requête fait {length} caractères ; tenez-vous-en à {max} au plus.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="85" />
      <source>Finding every instance takes a short phrase naming what to find, of {max} words at most, not a question or a sentence; choose Reasoning or Automatic for this query.</source>
      <translation>Trouver chaque instance demande une courte expression nommant ce qu'il faut trouver, de {max} mots au plus, pas une question ni une phrase ; choisissez Raisonnement ou Automatique pour cette requête.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="89" />
      <source>The backend has {queued} jobs waiting, its limit of {limit}; try again when some are done.</source>
      <translation>Le moteur a {queued} travaux en attente, sa limite de {limit} ; réessayez quand certains seront finis.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="90" />
      <source>The backend is busy with another click; try again in a moment.</source>
      <translation>Le moteur est occupé par un autre clic ; réessayez dans un instant.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="91" />
      <source>The backend is shutting down and takes no new work; restart it and try again.</source>
      <translation>Le moteur s'arrête et n'accepte plus de travail ; redémarrez-le et réessayez.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="92" />
      <source>The backend no longer knows this job: it was restarted or has forgotten old jobs.</source>
      <translation>Le moteur ne connaît plus ce travail : il a été redémarré ou a oublié les anciens travaux.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="94" />
      <source>The backend cannot find the raster {path} (a shared server reads only its own data folders).</source>
      <translation>Le moteur ne trouve pas le raster {path} (un serveur partagé ne lit que ses propres dossiers de données).</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="97" />
      <source>{path} is not an image the backend can read.</source>
      <translation>{path} n'est pas une image que le moteur sait lire.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="98" />
      <source>The backend cannot use the raster {path} or the area asked for.</source>
      <translation>Le moteur ne peut pas utiliser le raster {path} ou la zone demandée.</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="99" />
      <source>The coordinate reference system of {path} is not one the backend understands: assign a standard one (Raster ▸ Projections ▸ Assign Projection).</source>
      <translation>Le système de coordonnées de référence de {path} n'est pas compris par le moteur : attribuez-en un standard (Raster ▸ Projections ▸ Assigner une projection).</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="175" />
      <source>Canceled while waiting for the backend to start.</source>
      <translation>Annulé pendant l'attente du démarrage du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="199" />
      <source>The backend is stopped.</source>
      <translation>Le moteur est arrêté.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="219" />
      <source>Remote mode needs a backend URL: set it in Think2Map settings.</source>
      <translation>Le mode distant a besoin de l'URL d'un moteur : indiquez-la dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="222" />
      <source>Connecting to {url}…</source>
      <translation>Connexion à {url}…</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="248" />
      <source>Starting the backend with {python}…</source>
      <translation>Démarrage du moteur avec {python}…</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="285" />
      <source>The backend could not be started: {error}.</source>
      <translation>Le moteur n'a pas pu démarrer : {error}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="309" />
      <source>The backend stopped unexpectedly: {how}.</source>
      <translation>Le moteur s'est arrêté de façon inattendue : {how}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="311" />
      <source>The backend stopped while starting: {how}.</source>
      <translation>Le moteur s'est arrêté pendant son démarrage : {how}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="325" />
      <source>Restarting in {s} s (attempt {n} of {max})…</source>
      <translation>Redémarrage dans {s} s (tentative {n} sur {max})…</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="337" />
      <source>Last backend messages:</source>
      <translation>Derniers messages du moteur :</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="386" />
      <source>Backend ready at {url} on {device}.</source>
      <translation>Moteur prêt à {url} sur {device}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="388" />
      <source>No GPU: running on the CPU will be slow.</source>
      <translation>Pas de GPU : l'exécution sur le CPU sera lente.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="393" />
      <source>The backend refused the token (HTTP 401): check the token in Think2Map settings.</source>
      <translation>Le moteur a refusé le jeton (HTTP 401) : vérifiez le jeton dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="398" />
      <source>The backend at {url} is not healthy: {error}</source>
      <translation>Le moteur à {url} ne répond pas correctement : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/settings.py" line="174" />
      <source>Could not read {what} from QGIS's authentication database (configuration {id}): was the master password entered?</source>
      <translation>Impossible de lire {what} dans la base d'authentification de QGIS (configuration {id}) : le mot de passe principal a-t-il été saisi ?</translation>
    </message>
    <message>
      <location filename="../plugin/core/settings.py" line="214" />
      <source>Could not store {what} in QGIS's authentication database: it is kept in the QGIS settings, in plain text.</source>
      <translation>Impossible d'enregistrer {what} dans la base d'authentification de QGIS : elle est conservée dans les paramètres de QGIS, en clair.</translation>
    </message>
    <message>
      <location filename="../plugin/core/settings.py" line="221" />
      <source>QGIS's authentication database is disabled or has no master password: {what} is kept in the QGIS settings, in plain text. Set a master password (Settings &gt; Options &gt; Authentication) to protect it.</source>
      <translation>La base d'authentification de QGIS est désactivée ou n'a pas de mot de passe principal : {what} est conservée dans les paramètres de QGIS, en clair. Définissez un mot de passe principal (Préférences &gt; Options &gt; Authentification) pour la protéger.</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="116" />
      <source>creating the environment</source>
      <translation>la création de l'environnement</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="145" />
      <source>install Python 3.11 or later from python.org (tick “Add python.exe to PATH”)</source>
      <translation>installez Python 3.11 ou plus récent depuis python.org (cochez « Add python.exe to PATH »)</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="146" />
      <source>install Python 3.11 or later from python.org or with Homebrew (brew install python@3.11)</source>
      <translation>installez Python 3.11 ou plus récent depuis python.org ou avec Homebrew (brew install python@3.11)</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="147" />
      <source>install Python 3.11 or later with its venv module (sudo apt install python3 python3-venv)</source>
      <translation>installez Python 3.11 ou plus récent avec son module venv (sudo apt install python3 python3-venv)</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="150" />
      <source>No Python 3.10 or later with the venv module was found: {fix}, or set its path in the setup dialog.</source>
      <translation>Aucun Python 3.10 ou plus récent avec le module venv n'a été trouvé : {fix}, ou indiquez son chemin dans la fenêtre d'installation.</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="159" />
      <source>The disk holding {folder} has {free:.1f} GB free; the backend needs about {need:.0f} GB.</source>
      <translation>Le disque de {folder} n'a que {free:.1f} Go libres ; le moteur a besoin d'environ {need:.0f} Go.</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="163" />
      <source>Free some space and press Set up again.</source>
      <translation>Libérez de la place et cliquez de nouveau sur Installer.</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="188" />
      <source>installing the backend's packages</source>
      <translation>l'installation des paquets du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="206" />
      <source>The backend was installed but does not run: {error}</source>
      <translation>Le moteur a été installé mais ne démarre pas : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="251" />
      <source>The disk is full: {what} stopped. Free some space and press Set up again.</source>
      <translation>Le disque est plein : {what} s'est arrêtée. Libérez de la place et cliquez de nouveau sur Installer.</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="254" />
      <source>The package index could not be reached while {what}: check the network connection, or the proxy</source>
      <translation>L'index des paquets est injoignable pendant {what} : vérifiez la connexion réseau, ou le proxy</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="258" />
      <source>in QGIS's Settings ▸ Options ▸ Network, then press Set up again.</source>
      <translation>dans Préférences ▸ Options ▸ Réseau de QGIS, puis cliquez de nouveau sur Installer.</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="260" />
      <source>The setup failed while {what}: {error} (see the log).</source>
      <translation>L'installation a échoué pendant {what} : {error} (voir le journal).</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="266" />
      <source>The disk is full. Free some space and press Set up again.</source>
      <translation>Le disque est plein. Libérez de la place et cliquez de nouveau sur Installer.</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="267" />
      <source>The backend setup failed: {error}</source>
      <translation>L'installation du moteur a échoué : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="63" />
      <source>Think2Map: set up the backend</source>
      <translation>Think2Map : installer le moteur</translation>
    </message>
    <message>
      <location filename="../plugin/core/setup_task.py" line="94" />
      <source>The backend setup was cancelled; nothing half-built is used. Press Set up to try again.</source>
      <translation>L'installation du moteur a été annulée ; rien d'inachevé n'est utilisé. Cliquez sur Installer pour réessayer.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="100" />
      <source>Reasoning… shows why.</source>
      <translation>Raisonnement… indique pourquoi.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="100" />
      <source>The log shows why.</source>
      <translation>Le journal indique pourquoi.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="102" />
      <source>Nothing matching the query was found.</source>
      <translation>Rien ne correspond à la requête.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="103" />
      <source>{n} polygon(s) found.</source>
      <translation>{n} polygone(s) trouvé(s).</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="105" />
      <source>Cancelled; the {n} polygon(s) found so far were kept.</source>
      <translation>Annulée ; polygones trouvés jusque-là et conservés : {n}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="108" />
      <source>The {n} polygon(s) found before were kept.</source>
      <translation>Polygones trouvés avant et gardés : {n}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="123" />
      <source>Overview first ({strategy}): {n} prompter call(s) for {total} tiles.</source>
      <translation>Vue d'ensemble d'abord ({strategy}) : {n} appel(s) au modèle pour {total} tuiles.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="133" />
      <source>Tile {i}: {message}</source>
      <translation>Tuile {i} : {message}</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="193" />
      <source>Unexpected answer from the backend: {e}</source>
      <translation>Réponse inattendue du moteur : {e}</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="219" />
      <source>Cancelled before it started.</source>
      <translation>Annulée avant de commencer.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="230" />
      <source>Think2Map: list models</source>
      <translation>Think2Map : liste des modèles</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="247" />
      <source>Cancelled.</source>
      <translation>Annulé.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="256" />
      <source>Think2Map: download {name}</source>
      <translation>Think2Map : téléchargement de {name}</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="268" />
      <source>The download goes on in the backend.</source>
      <translation>Le téléchargement continue dans le moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="282" />
      <source>{name} is ready.</source>
      <translation>{name} est prêt.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="296" />
      <source>Think2Map: send the view</source>
      <translation>Think2Map : envoi de la vue</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="81" />
      <source>The backend did not confirm the cancellation.</source>
      <translation>Le moteur n'a pas confirmé l'annulation.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="94" />
      <source>{n} tile(s) failed: Reasoning… shows why.</source>
      <translation>{n} tuile(s) en échec : Raisonnement… dit pourquoi.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="96" />
      <source>{n} tile(s) failed: the log shows why.</source>
      <translation>{n} tuile(s) en échec : le journal dit pourquoi.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="99" />
      <source>No target: the overview saw nothing matching the query.</source>
      <translation>Aucune cible : la vue d'ensemble n'a rien vu qui corresponde à la requête.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="126" />
      <source>Choose the raster to digitise on first.</source>
      <translation>Choisissez d'abord le raster sur lequel numériser.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="135" />
      <source>Click on an object to outline it; Enter adds it to the layer.</source>
      <translation>Cliquez sur un objet pour le détourer ; Entrée l'ajoute à la couche.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="147" />
      <source>Select one polygon of a Think2Map result layer to refine.</source>
      <translation>Sélectionnez un polygone d'une couche de résultats Think2Map à affiner.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="152" />
      <source>Add points to correct the outline; Enter replaces the polygon.</source>
      <translation>Ajoutez des points pour corriger le contour ; Entrée remplace le polygone.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="165" />
      <source>Replaced the polygon in {layer}; Ctrl+Z (Edit ▸ Undo) brings the old outline back.</source>
      <translation>Polygone remplacé dans {layer} ; Ctrl+Z (Édition ▸ Annuler) rend l'ancien contour.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="167" />
      <source>Added to {layer}; Ctrl+Z (Edit ▸ Undo) takes it back.</source>
      <translation>Ajouté à {layer} ; Ctrl+Z (Édition ▸ Annuler) le retire.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="174" />
      <source>The backend is back; the click it never answered was dropped: click again.</source>
      <translation>Le moteur est revenu ; le clic resté sans réponse a été retiré : cliquez à nouveau.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="176" />
      <source>The backend is back: clicks work again.</source>
      <translation>Le moteur est revenu : les clics fonctionnent de nouveau.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="43" />
      <source>Click to segment</source>
      <translation>Segmenter par clic</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="56" />
      <source>Click on the map</source>
      <translation>Cliquer sur la carte</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="59" />
      <source>Click inside an object (Shift or right click: outside it), or drag a box around it; Enter adds it</source>
      <translation>Cliquez dans un objet (Maj ou clic droit : en dehors), ou tracez un rectangle autour ; Entrée l'ajoute</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="61" />
      <source>Add (Enter)</source>
      <translation>Ajouter (Entrée)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="63" />
      <source>Refine selected</source>
      <translation>Affiner</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="64" />
      <source>Start from the selected polygon of a Think2Map layer, then add points</source>
      <translation>Partir du polygone sélectionné d'une couche Think2Map, puis ajouter des points</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="76" />
      <source>Where added outlines go; empty: a new '{name}' layer</source>
      <translation>Où vont les contours ajoutés ; vide : une nouvelle couche « {name} »</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="78" />
      <source>Add to</source>
      <translation>Ajouter à</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="79" />
      <source>Show the outline under the cursor</source>
      <translation>Contour sous le curseur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="80" />
      <source>Resting the mouse over the map shows what a click there would outline</source>
      <translation>La souris posée sur la carte montre ce qu'un clic à cet endroit détourerait</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="83" />
      <source>Esc clears, Ctrl+Z takes back the last click.</source>
      <translation>Échap efface, Ctrl+Z annule le dernier clic.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="170" />
      <source>This layer has no Think2Map prompts to refine.</source>
      <translation>Cette couche n'a pas d'invites Think2Map à affiner.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="264" />
      <source>The click is outside '{name}'.</source>
      <translation>Le clic est en dehors de « {name} ».</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="293" />
      <source>The backend is not ready yet: the preview comes once it is.</source>
      <translation>Le moteur n'est pas encore prêt : l'aperçu viendra dès qu'il le sera.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="308" />
      <source>Sending the view to the backend, which cannot read it…</source>
      <translation>Envoi de la vue au moteur, qui ne peut pas la lire…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="388" />
      <source>Nothing found there: add a point or draw a box.</source>
      <translation>Rien trouvé ici : ajoutez un point ou tracez un rectangle.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="423" />
      <source>Nothing to add yet: click on the object first.</source>
      <translation>Rien à ajouter pour l'instant : cliquez d'abord sur l'objet.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="439" />
      <source>Think2Map: add a segment</source>
      <translation>Think2Map : ajouter un segment</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="448" />
      <source>Think2Map: refine a segment</source>
      <translation>Think2Map : affiner un segment</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="452" />
      <source>Could not edit the layer {name}.</source>
      <translation>Impossible de modifier la couche {name}.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="52" />
      <source>Think2Map edits</source>
      <translation>Modifications Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="135" />
      <source>Starting the backend…</source>
      <translation>Démarrage du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="137" />
      <source>unknown device</source>
      <translation>processeur inconnu</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="141" />
      <source>Backend ready — GPU: {name}, {memory:.0f} GB</source>
      <translation>Moteur prêt — GPU : {name}, {memory:.0f} Go</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="145" />
      <source>Backend ready — CPU only: queries will be slow</source>
      <translation>Moteur prêt — processeur seul : les requêtes seront lentes</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="147" />
      <source>Backend ready on {device}</source>
      <translation>Moteur prêt sur {device}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="149" />
      <source>restarted at {time}, after it stopped unexpectedly</source>
      <translation>redémarré à {time}, après un arrêt inattendu</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="152" />
      <source>No backend yet: press “Set up the backend…” to build it (a few minutes, about 7 GB), or choose an existing one in Settings.</source>
      <translation>Pas encore de moteur : appuyez sur « Installer le moteur… » pour le construire (quelques minutes, environ 7 Go), ou choisissez-en un dans les paramètres.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="157" />
      <source>Backend error: {detail}</source>
      <translation>Erreur du moteur : {detail}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="157" />
      <source>no details</source>
      <translation>sans détails</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="158" />
      <source>Backend stopped; it starts when you open this panel or run a query.</source>
      <translation>Moteur arrêté ; il démarre à l'ouverture de ce panneau ou au lancement d'une requête.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="177" />
      <source>The backend did not start: {detail}</source>
      <translation>Le moteur n'a pas démarré : {detail}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="200" />
      <source>Think2Map is restarting it.</source>
      <translation>Think2Map le redémarre.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="200" />
      <source>Press Restart to start it.</source>
      <translation>Appuyez sur Redémarrer pour le lancer.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="204" />
      <source>Nothing had been found yet.</source>
      <translation>Rien n'avait encore été trouvé.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="230" />
      <source>Draw a rectangle on the map first (the Draw button), or choose another area.</source>
      <translation>Tracez d'abord un rectangle sur la carte (bouton Tracer), ou choisissez une autre zone.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="344" />
      <source>The backend cannot start: {detail}</source>
      <translation>Le moteur ne peut pas démarrer : {detail}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="385" />
      <source>Waiting for the backend to start…</source>
      <translation>En attente du démarrage du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="410" />
      <source>A query is already running; cancel it or wait for it to finish.</source>
      <translation>Une requête est déjà en cours ; annulez-la ou attendez qu'elle se termine.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="413" />
      <source>Not downloaded yet: {names}. Click Download to fetch them, or choose other models.</source>
      <translation>Pas encore téléchargé : {names}. Cliquez sur Télécharger pour les obtenir, ou choisissez d’autres modèles.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="423" />
      <source>Cancelling…</source>
      <translation>Annulation…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="433" />
      <source>Think2Map: {query}</source>
      <translation>Think2Map : {query}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="436" />
      <source>Sending the area to the backend, which cannot read it…</source>
      <translation>Envoi de la zone au moteur, qui ne peut pas la lire…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="446" />
      <source>Searching for '{query}'…</source>
      <translation>Recherche de « {query} »…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="539" />
      <source>'{query}' on '{raster}'</source>
      <translation>« {query} » sur « {raster} »</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="544" />
      <source>Think2Map</source>
      <translation>Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="549" />
      <source>{what}: {message}</source>
      <translation>{what} : {message}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="549" />
      <source>done.</source>
      <translation>terminée.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="553" />
      <source>cancelled.</source>
      <translation>annulée.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="557" />
      <source>The query failed: {error}</source>
      <translation>La requête a échoué : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="591" />
      <source>Could not write the results to a GeoPackage ({error}): they are in a memory layer; save it before closing QGIS.</source>
      <translation>Impossible d'écrire les résultats dans un GeoPackage ({error}) : ils sont dans une couche en mémoire ; enregistrez-la avant de fermer QGIS.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="633" />
      <source>The project was closed, so the query '{query}' was cancelled; its {n} polygon(s) are kept in {path} (layer {table}).</source>
      <translation>Le projet a été fermé, la requête '{query}' a donc été annulée ; les polygones trouvés ({n}) sont gardés dans {path} (couche {table}).</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="638" />
      <source>The project was closed, so the query '{query}' was cancelled; its {n} polygon(s) were in a memory layer, which closed with the project.</source>
      <translation>Le projet a été fermé, la requête '{query}' a donc été annulée ; les polygones trouvés ({n}) étaient dans une couche en mémoire, fermée avec le projet.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="642" />
      <source>The project was closed, so the query '{query}' was cancelled before it found anything.</source>
      <translation>Le projet a été fermé, la requête '{query}' a donc été annulée avant d'avoir rien trouvé.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="665" />
      <source>'{query}' has no layer: nothing was found yet. Reasoning… shows what the model wrote.</source>
      <translation>'{query}' n'a pas de couche : rien n'a encore été trouvé. Raisonnement… montre ce qu'a écrit le modèle.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="667" />
      <source>The layer of '{query}' was removed from the project.</source>
      <translation>La couche de « {query} » a été retirée du projet.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="71" />
      <source>Bands are numbers separated by commas, like 3,2,1.</source>
      <translation>Les bandes sont des numéros séparés par des virgules, comme 3,2,1.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="73" />
      <source>Give one band (grey) or three bands (red, green, blue), numbered from 1.</source>
      <translation>Indiquez une bande (gris) ou trois bandes (rouge, vert, bleu), numérotées à partir de 1.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="100" />
      <source>Current map extent</source>
      <translation>Emprise actuelle de la carte</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="101" />
      <source>Rectangle drawn on the map</source>
      <translation>Rectangle tracé sur la carte</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="103" />
      <source>Draw</source>
      <translation>Tracer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="105" />
      <source>Drag a rectangle on the map to search only there</source>
      <translation>Tracez un rectangle sur la carte pour n'analyser que cette zone</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="108" />
      <source>Area</source>
      <translation>Zone</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="118" />
      <source>Reasoning (Think2Seg-RS)</source>
      <translation>Raisonnement (Think2Seg-RS)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="119" />
      <source>Find every instance (SAM 3)</source>
      <translation>Trouver chaque instance (SAM 3)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="120" />
      <source>Automatic: SAM 3 for short noun phrases</source>
      <translation>Automatique : SAM 3 pour les groupes nominaux courts</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="122" />
      <source>Reasoning answers any question, tile by tile; SAM 3 finds every instance of a short phrase (buildings, swimming pools) much faster; Automatic picks one per query and each polygon's 'route' attribute says why.</source>
      <translation>Le raisonnement répond à toute question, tuile par tuile ; SAM 3 trouve bien plus vite chaque instance d'une expression courte (bâtiments, piscines) ; Automatique choisit pour chaque requête et l'attribut 'route' de chaque polygone dit pourquoi.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="128" />
      <source>Answer with</source>
      <translation>Répondre avec</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="144" />
      <source>Advanced options</source>
      <translation>Options avancées</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="151" />
      <source> px</source>
      <translation> px</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="158" />
      <source>default (1,2,3); or 4,3,2; or one band</source>
      <translation>par défaut (1,2,3) ; ou 4,3,2 ; ou une seule bande</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="163" />
      <source>The most tiles one query may search; a larger area is refused first</source>
      <translation>Le nombre maximal de tuiles qu'une requête peut analyser ; une zone plus grande est refusée d'emblée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="168" />
      <source>the map view's</source>
      <translation>celle de la vue</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="170" />
      <source>The pixel size a web layer (XYZ, WMS, WMTS…) is fetched at, in its map units; never finer than its last zoom level. The lowest value: the map view's</source>
      <translation>La taille de pixel à laquelle une couche web (XYZ, WMS, WMTS…) est téléchargée, dans ses unités de carte ; jamais plus fine que son dernier niveau de zoom. La plus petite valeur : celle de la vue</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="175" />
      <source>Pixel coordinates</source>
      <translation>Coordonnées pixel</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="177" />
      <source>Search a raster that has no coordinate reference system; its polygons are placed in pixel coordinates</source>
      <translation>Analyser un raster sans système de coordonnées de référence ; ses polygones sont placés en coordonnées pixel</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="180" />
      <source>Every tile</source>
      <translation>Toutes les tuiles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="181" />
      <source>Overview first, then where it points</source>
      <translation>Vue d'ensemble d'abord, puis là où elle pointe</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="182" />
      <source>Automatic (by the area's size)</source>
      <translation>Automatique (selon la taille de la zone)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="184" />
      <source>Every tile: the prompter reads the whole area at full resolution. Overview first: it reads the area downsampled, then only the places its boxes point to (far fewer prompter calls, and questions about the whole scene); its boxes are drawn as a layer. Automatic: the overview for a large area, with a sample of tiles for small objects.</source>
      <translation>Toutes les tuiles : le modèle lit toute la zone en pleine résolution. Vue d'ensemble d'abord : il lit la zone sous-échantillonnée, puis seulement les endroits que désignent ses boîtes (bien moins d'appels au modèle, et des questions sur toute la scène) ; ses boîtes sont dessinées dans une couche. Automatique : la vue d'ensemble pour une grande zone, avec un échantillon de tuiles pour les petits objets.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="192" />
      <source>SAM with the overview's boxes (fast)</source>
      <translation>SAM avec les boîtes de la vue d'ensemble (rapide)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="193" />
      <source>The prompter again (detailed)</source>
      <translation>Le modèle à nouveau (détaillé)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="194" />
      <source>How the places the overview points to are read at full resolution</source>
      <translation>Comment les endroits désignés par la vue d'ensemble sont lus en pleine résolution</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="199" />
      <source>Strategy</source>
      <translation>Stratégie</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="200" />
      <source>Refine with</source>
      <translation>Affiner avec</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="201" />
      <source>Tile size</source>
      <translation>Taille des tuiles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="202" />
      <source>Overlap</source>
      <translation>Recouvrement</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="203" />
      <source>Bands</source>
      <translation>Bandes</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="204" />
      <source>Tile limit</source>
      <translation>Limite de tuiles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="205" />
      <source>Web layer resolution</source>
      <translation>Résolution des couches web</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="210" />
      <source>Run</source>
      <translation>Lancer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="212" />
      <source>Cancel</source>
      <translation>Annuler</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="220" />
      <source>%v / %m tiles</source>
      <translation>%v / %m tuiles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="228" />
      <source>Details…</source>
      <translation>Détails…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="229" />
      <source>What the backend said, in its own words</source>
      <translation>Ce que le moteur a dit, dans ses propres termes</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="240" />
      <source>Restart</source>
      <translation>Redémarrer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="241" />
      <source>Restart the backend</source>
      <translation>Redémarrer le moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="243" />
      <source>Settings…</source>
      <translation>Paramètres…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="246" />
      <source>The backend's full error message</source>
      <translation>Le message d'erreur complet du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="256" />
      <source>Set up the backend…</source>
      <translation>Installer le moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="257" />
      <source>Build the backend's Python environment in your QGIS profile folder</source>
      <translation>Construire l'environnement Python du moteur dans le dossier de votre profil QGIS</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="261" />
      <source>Results</source>
      <translation>Résultats</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="263" />
      <source>Select a result to show and zoom to its layer</source>
      <translation>Sélectionnez un résultat pour afficher sa couche et zoomer dessus</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="268" />
      <source>Zoom to layer</source>
      <translation>Zoomer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="269" />
      <source>Zoom to the layer of the selected result</source>
      <translation>Zoomer sur la couche du résultat sélectionné</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="270" />
      <source>Reasoning…</source>
      <translation>Raisonnement…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="271" />
      <source>What the prompter wrote for each tile</source>
      <translation>Ce que le modèle d'invite a écrit pour chaque tuile</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="373" />
      <source>The backend reads this basemap's tiles itself: coarse zoom levels for the overview, then {m:.2f} m a pixel only where it points.</source>
      <translation>Le moteur lit lui-même les tuiles de ce fond de carte : des niveaux de zoom grossiers pour la vue d’ensemble, puis {m:.2f} m par pixel seulement là où elle pointe.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="378" />
      <source>A query fetches {what} first.</source>
      <translation>Une requête télécharge d’abord {what}.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="386" />
      <source>Its imagery is from {credit}: check that its terms allow automated analysis.</source>
      <translation>Ses images viennent de {credit} : vérifiez que ses conditions permettent l’analyse automatique.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="397" />
      <source>A query is running: wait for it, or cancel it</source>
      <translation>Une requête est en cours : attendez-la ou annulez-la</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="399" />
      <source>Search the raster for the query (Enter)</source>
      <translation>Chercher la requête dans le raster (Entrée)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="452" />
      <source>Area: a rectangle of {w:.0f} × {h:.0f} map units.</source>
      <translation>Zone : un rectangle de {w:.0f} × {h:.0f} unités de carte.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="488" />
      <source>Select a result first.</source>
      <translation>Sélectionnez d'abord un résultat.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="494" />
      <source>Think2Map backend</source>
      <translation>Moteur Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="612" />
      <source>waiting for the backend</source>
      <translation>en attente du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="613" />
      <source>sent</source>
      <translation>envoyée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="614" />
      <source>queued</source>
      <translation>en file</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="615" />
      <source>running</source>
      <translation>en cours</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="616" />
      <source>done</source>
      <translation>terminée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="617" />
      <source>failed</source>
      <translation>échouée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="618" />
      <source>cancelled</source>
      <translation>annulée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="622" />
      <source>{strategy}, {n} prompter call(s)</source>
      <translation>{strategy}, {n} appel(s) au modèle</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="626" />
      <source>no target</source>
      <translation>aucune cible</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="628" />
      <source>{n} polygon(s)</source>
      <translation>{n} polygone(s)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="629" />
      <source>{name} — {state}, {found}{tiles}</source>
      <translation>{name} — {state}, {found}{tiles}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="89" />
      <source>The raster to search</source>
      <translation>Le raster à analyser</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="90" />
      <source>Raster</source>
      <translation>Raster</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="94" />
      <source>What to find, e.g. the river</source>
      <translation>Quoi chercher, p. ex. la rivière</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="95" />
      <source>Describe what to find in plain language; earlier queries are in the list</source>
      <translation>Décrivez en langage courant ce qu'il faut trouver ; les requêtes précédentes sont dans la liste</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="96" />
      <source>Query</source>
      <translation>Requête</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="99" />
      <source>Whole layer</source>
      <translation>Toute la couche</translation>
    </message>
    <message>
      <location filename="../plugin/gui/export_step.py" line="58" />
      <source>Fetching {what} of '{name}'…</source>
      <translation>Téléchargement de {what} de « {name} »…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/export_step.py" line="87" />
      <source>Found in '{name}' ({host}), exported by QGIS at {res:g} units per pixel on {when}{credit}.</source>
      <translation>Trouvé dans « {name} » ({host}), exporté par QGIS à {res:g} unités par pixel le {when}{credit}.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/export_step.py" line="89" />
      <source>local</source>
      <translation>local</translation>
    </message>
    <message>
      <location filename="../plugin/gui/model_catalog.py" line="45" />
      <source>Could not list the models: {error}</source>
      <translation>Impossible de lister les modèles : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="104" />
      <source>Downloading {name}: %p%</source>
      <translation>Téléchargement de {name} : %p%</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="27" />
      <source>Models</source>
      <translation>Modèles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="32" />
      <source>Prompter</source>
      <translation>Modèle d'invite</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="33" />
      <source>Segmenter</source>
      <translation>Segmenteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="36" />
      <source>Download</source>
      <translation>Télécharger</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="73" />
      <source>Backend default</source>
      <translation>Par défaut du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="73" />
      <source>Backend default ({name})</source>
      <translation>Par défaut du moteur ({name})</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="77" />
      <source>(missing)</source>
      <translation>(absent)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/models_box.py" line="87" />
      <source>Not downloaded yet: {names}.</source>
      <translation>Pas encore téléchargé : {names}.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="30" />
      <source>Tile {index}: {status}, {n} instances{timing}</source>
      <translation>Tuile {index} : {status}, {n} instances{timing}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="37" />
      <source>Overview cell {index}: {status}, {n} boxes</source>
      <translation>Cellule {index} de la vue d'ensemble : {status}, {n} boîtes</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="44" />
      <source>(the prompter wrote nothing for this tile)</source>
      <translation>(le modèle d'invite n'a rien écrit pour cette tuile)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="46" />
      <source>Warning: {text}</source>
      <translation>Avertissement : {text}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="48" />
      <source>Error: {text}</source>
      <translation>Erreur : {text}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="50" />
      <source>Instances:</source>
      <translation>Instances :</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="52" />
      <source>Window (pixels): {window}</source>
      <translation>Fenêtre (pixels) : {window}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="62" />
      <source>Reasoning: {query}</source>
      <translation>Raisonnement : {query}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="65" />
      <source>What the prompter wrote for each tile of '{query}' ({n} tiles).</source>
      <translation>Ce que le modèle d'invite a écrit pour chaque tuile de « {query} » ({n} tuiles).</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="69" />
      <source>It first read the whole area downsampled ({strategy}, {cells} overview cell(s)); the tiles its boxes did not meet were not read.</source>
      <translation>Il a d'abord lu toute la zone sous-échantillonnée ({strategy}, {cells} cellule(s)) ; les tuiles que ses boîtes ne touchaient pas n'ont pas été lues.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="97" />
      <source>No tile reports yet.</source>
      <translation>Pas encore de rapport de tuile.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="101" />
      <source>the server's first model</source>
      <translation>le premier modèle du serveur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="103" />
      <source>Served prompter URL</source>
      <translation>URL du modèle servi</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="104" />
      <source>Served model</source>
      <translation>Modèle servi</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="105" />
      <source>API key</source>
      <translation>Clé d'API</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="106" />
      <source>Constrain answers so that every one parses</source>
      <translation>Contraindre les réponses pour qu'elles soient toutes lisibles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="108" />
      <source>The local backend constrains the prompter's decoding to the Think2Seg-RS answer format: no tile is lost to an answer that cannot be read.</source>
      <translation>Le moteur local contraint le décodage du modèle au format de réponse de Think2Seg-RS : aucune tuile n'est perdue à cause d'une réponse illisible.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="119" />
      <source>GeoPackage (project folder, or a temporary folder)</source>
      <translation>GeoPackage (dossier du projet, ou dossier temporaire)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="120" />
      <source>Memory layer (lost when QGIS closes)</source>
      <translation>Couche en mémoire (perdue à la fermeture de QGIS)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="121" />
      <source>Store results as</source>
      <translation>Enregistrer les résultats en</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="165" />
      <source>The extra arguments do not parse: {error}</source>
      <translation>Les arguments supplémentaires sont illisibles : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="187" />
      <source>Checking…</source>
      <translation>Vérification…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="199" />
      <source>Everything the backend needs is in place.</source>
      <translation>Tout ce dont le moteur a besoin est en place.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="201" />
      <source>Some required parts are missing or broken: see each FAIL line and its fix.</source>
      <translation>Des éléments requis manquent ou sont défectueux : voyez chaque ligne FAIL et sa correction.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="203" />
      <source>The doctor could not run: {error}</source>
      <translation>Le diagnostic n'a pas pu être lancé : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="207" />
      <source>Think2Map doctor</source>
      <translation>Diagnostic Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="219" />
      <source>The served prompter URL must start with http:// or https://.</source>
      <translation>L'URL du modèle servi doit commencer par http:// ou https://.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="221" />
      <source>The server URL must start with http:// or https://.</source>
      <translation>L'URL du serveur doit commencer par http:// ou https://.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="223" />
      <source>Choose the Python interpreter of the backend environment (run 'make setup' to build one).</source>
      <translation>Choisissez l'interpréteur Python de l'environnement du moteur (lancez « make setup » pour en créer un).</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="239" />
      <source>Checking {python}…</source>
      <translation>Vérification de {python}…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="40" />
      <source>Think2Map settings</source>
      <translation>Paramètres de Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="44" />
      <source>Start a local backend</source>
      <translation>Démarrer un moteur local</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="45" />
      <source>Use a backend server</source>
      <translation>Utiliser un serveur de moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="46" />
      <source>Backend</source>
      <translation>Moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="51" />
      <source>Python interpreter of the backend environment</source>
      <translation>Interpréteur Python de l'environnement du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="53" />
      <source>The python of the environment where the backend and PyTorch are installed (make setup builds .venv in the plugin folder)</source>
      <translation>Le python de l'environnement où sont installés le moteur et PyTorch (make setup crée .venv dans le dossier de l'extension)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="60" />
      <source>Check…</source>
      <translation>Vérifier…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="61" />
      <source>Run the backend's doctor: packages, GPU, models, disk</source>
      <translation>Lancer le diagnostic du moteur : paquets, GPU, modèles, disque</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="63" />
      <source>Backend Python</source>
      <translation>Python du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="67" />
      <source>Device</source>
      <translation>Processeur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="69" />
      <source>more arguments for 'python -m backend serve'</source>
      <translation>autres arguments pour « python -m backend serve »</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="70" />
      <source>Extra arguments</source>
      <translation>Arguments supplémentaires</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="75" />
      <source>Server URL</source>
      <translation>URL du serveur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="76" />
      <source>Token</source>
      <translation>Jeton</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="83" />
      <source>Models folder</source>
      <translation>Dossier des modèles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="87" />
      <source>Default prompter</source>
      <translation>Modèle d'invite par défaut</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="88" />
      <source>Default segmenter</source>
      <translation>Segmenteur par défaut</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="89" />
      <source>A known name (think2seg-rs-3b, sam2.1-s, …) or a local path.</source>
      <translation>Un nom connu (think2seg-rs-3b, sam2.1-s, …) ou un chemin local.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="93" />
      <source>optional: http://gpu-server:8000/v1 (vLLM, SGLang, Ollama…)</source>
      <translation>facultatif : http://serveur-gpu:8000/v1 (vLLM, SGLang, Ollama…)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="95" />
      <source>An OpenAI-compatible server that runs the prompter instead of the local backend (which still runs SAM). Leave empty to run the prompter in the backend.</source>
      <translation>Un serveur compatible OpenAI qui fait tourner le modèle de langage à la place du moteur local (qui garde SAM). Laissez vide pour le faire tourner dans le moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="131" />
      <source>The backend is set up: {python}</source>
      <translation>Le moteur est installé : {python}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="43" />
      <source>Think2Map runs its models in a Python environment of its own, apart from QGIS. This builds it in {folder} (about 7 GB, several minutes) and checks it. The model weights are downloaded later, when you ask for them.</source>
      <translation>Think2Map fait tourner ses modèles dans son propre environnement Python, à part de QGIS. Cette étape le construit dans {folder} (environ 7 Go, plusieurs minutes) et le vérifie. Les poids des modèles sont téléchargés plus tard, à votre demande.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="54" />
      <source>found automatically (Python 3.10 or later)</source>
      <translation>trouvé automatiquement (Python 3.10 ou plus récent)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="55" />
      <source>Python</source>
      <translation>Python</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="57" />
      <source>Automatic (CUDA when an NVIDIA GPU is found, MPS on Apple Silicon)</source>
      <translation>Automatique (CUDA si un GPU NVIDIA est présent, MPS sur Apple Silicon)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="58" />
      <source>CUDA</source>
      <translation>CUDA</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="59" />
      <source>CPU only</source>
      <translation>Processeur seul</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="60" />
      <source>PyTorch build</source>
      <translation>Version de PyTorch</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="73" />
      <source>Set up</source>
      <translation>Installer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="76" />
      <source>Open log</source>
      <translation>Ouvrir le journal</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="77" />
      <source>Close</source>
      <translation>Fermer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/setup_dialog.py" line="93" />
      <source>Setting up…</source>
      <translation>Installation…</translation>
    </message>
    <message>
      <location filename="../plugin/plugin.py" line="146" />
      <source>Settings changed: restarting the backend.</source>
      <translation>Paramètres modifiés : redémarrage du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/plugin.py" line="37" />
      <source>Think2Map panel</source>
      <translation>Panneau Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/plugin.py" line="40" />
      <source>Show or hide the Think2Map panel: segment a raster by describing it</source>
      <translation>Afficher ou masquer le panneau Think2Map : segmenter un raster en le décrivant</translation>
    </message>
    <message>
      <location filename="../plugin/plugin.py" line="42" />
      <source>Think2Map settings…</source>
      <translation>Paramètres de Think2Map…</translation>
    </message>
    <message>
      <location filename="../plugin/plugin.py" line="45" />
      <source>Think2Map: click to segment</source>
      <translation>Think2Map : segmenter par clic</translation>
    </message>
    <message>
      <location filename="../plugin/plugin.py" line="49" />
      <source>Click or drag on the map to outline an object; Enter adds it ({key})</source>
      <translation>Cliquez ou tracez sur la carte pour détourer un objet ; Entrée l'ajoute ({key})</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="101" />
      <source>Segmenter (model name or checkpoint)</source>
      <translation>Segmenteur (nom ou fichier de poids)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="108" />
      <source>Tile size (pixels)</source>
      <translation>Taille des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="119" />
      <source>Tile overlap (pixels)</source>
      <translation>Recouvrement des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="164" />
      <source>Pixel coordinates (for a raster without a CRS)</source>
      <translation>Coordonnées pixel (pour un raster sans SCR)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="170" />
      <source>Resolution of a web layer, in its map units per pixel (0: its finest zoom)</source>
      <translation>Résolution d’une couche web, en unités de carte par pixel (0 : son zoom le plus fin)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="181" />
      <source>Segmented polygons</source>
      <translation>Polygones segmentés</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="279" />
      <source>Tile {i}: {status}. {text}</source>
      <translation>Tuile {i} : {status}. {text}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="285" />
      <source>Overview cell {i}: {status}, {n} box(es). {text}</source>
      <translation>Cellule {i} de la vue d'ensemble : {status}, {n} boîte(s). {text}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="296" />
      <source>{done} of {total} tiles</source>
      <translation>{done} tuiles sur {total}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="308" />
      <source>Job {id}: {n} tile(s).</source>
      <translation>Tâche {id} : {n} tuile(s).</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="326" />
      <source>The backend said: {detail}</source>
      <translation>Le moteur a dit : {detail}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="351" />
      <source>Waiting for the Think2Map backend to start…</source>
      <translation>Attente du démarrage du moteur Think2Map…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="362" />
      <source>Starting the Think2Map backend…</source>
      <translation>Démarrage du moteur Think2Map…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="71" />
      <source>Segment raster by text query</source>
      <translation>Segmenter un raster par requête textuelle</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="74" />
      <source>Finds what the query describes ("the river", "every building with a red roof") in the raster and returns its outlines as polygons in the raster's CRS. A vision-language model reads each tile and prompts Segment Anything; both run in the Think2Map backend (see the plugin's settings), which is started when needed.</source>
      <translation>Trouve dans le raster ce que décrit la requête (« la rivière », « chaque bâtiment au toit rouge ») et renvoie ses contours sous forme de polygones dans le SCR du raster. Un modèle vision-langage lit chaque tuile et guide Segment Anything ; tous deux tournent dans le moteur Think2Map (voir les paramètres de l'extension), démarré au besoin.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="89" />
      <source>Area to search (default: the whole raster)</source>
      <translation>Zone à analyser (par défaut : tout le raster)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="94" />
      <source>Prompter (model name or folder)</source>
      <translation>Modèle d'invite (nom ou dossier)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/provider.py" line="38" />
      <source>Think2Map: segment rasters by text query</source>
      <translation>Think2Map : segmenter des rasters par requête textuelle</translation>
    </message>
  </context>
</TS>
