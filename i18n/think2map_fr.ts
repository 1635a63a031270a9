<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
  <context>
    <name>Think2Map</name>
    <message>
      <location filename="../plugin/core/async_call.py" line="55" />
      <source>no answer</source>
      <translation>pas de réponse</translation>
    </message>
    <message>
      <location filename="../plugin/core/async_call.py" line="56" />
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
      <location filename="../plugin/core/client.py" line="149" />
      <source>The backend answered HTTP {status}.</source>
      <translation>Le moteur a répondu HTTP {status}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="153" />
      <source>The backend sent an answer that is not JSON: {text}</source>
      <translation>Le moteur a envoyé une réponse qui n'est pas du JSON : {text}</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="162" />
      <source>The request to the backend was canceled.</source>
      <translation>La requête au moteur a été annulée.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="168" />
      <source>The backend at {url} did not answer in time.</source>
      <translation>Le moteur à {url} n'a pas répondu à temps.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="170" />
      <source>No backend is listening at {url}: start it (Think2Map settings) or check the URL.</source>
      <translation>Aucun moteur n'écoute à {url} : démarrez-le (paramètres de Think2Map) ou vérifiez l'URL.</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="173" />
      <source>unknown network error</source>
      <translation>erreur réseau inconnue</translation>
    </message>
    <message>
      <location filename="../plugin/core/client.py" line="174" />
      <source>Could not reach the backend at {url}: {error}</source>
      <translation>Impossible de joindre le moteur à {url} : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="38" />
      <source>The area to search is empty.</source>
      <translation>La zone à analyser est vide.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="46" />
      <source>The area could not be converted to the raster's CRS ({crs}): {error}</source>
      <translation>La zone n'a pas pu être convertie dans le SCR du raster ({crs}) : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="52" />
      <source>The area could not be converted to the raster's CRS ({crs}).</source>
      <translation>La zone n'a pas pu être convertie dans le SCR du raster ({crs}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="57" />
      <source>The area does not overlap the raster '{name}': pan or zoom to it, or draw a rectangle over it.</source>
      <translation>La zone ne recouvre pas le raster « {name} » : déplacez-vous ou zoomez dessus, ou tracez un rectangle sur lui.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="80" />
      <source>Choose a raster layer to search.</source>
      <translation>Choisissez une couche raster à analyser.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="82" />
      <source>'{name}' is not a raster layer: choose an image (raster) layer.</source>
      <translation>« {name} » n'est pas une couche raster : choisissez une couche image (raster).</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="84" />
      <source>The raster '{name}' cannot be read: check its source.</source>
      <translation>Le raster « {name} » est illisible : vérifiez sa source.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="86" />
      <source>'{name}' comes from the '{provider}' provider; only file-based rasters (GDAL), such as GeoTIFFs or /vsicurl/ cloud-optimised GeoTIFFs, can be sent to the backend. Save it as a GeoTIFF first.</source>
      <translation>« {name} » vient du fournisseur « {provider} » ; seuls les rasters fichiers (GDAL), comme les GeoTIFF ou les GeoTIFF optimisés pour le cloud en /vsicurl/, peuvent être envoyés au moteur. Enregistrez-le d'abord en GeoTIFF.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="91" />
      <source>The raster '{name}' has no coordinate reference system: set it in the layer's properties, or georeference the image first.</source>
      <translation>Le raster « {name} » n'a pas de système de coordonnées : définissez-le dans les propriétés de la couche, ou géoréférencez d'abord l'image.</translation>
    </message>
    <message>
      <location filename="../plugin/core/extent.py" line="97" />
      <source>The raster file {path} does not exist.</source>
      <translation>Le fichier raster {path} n'existe pas.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="21" />
      <source>Set the backend Python in Think2Map settings, or run `make setup` in the plugin folder.</source>
      <translation>Indiquez le Python du moteur dans les paramètres de Think2Map, ou lancez `make setup` dans le dossier de l'extension.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="51" />
      <source>No backend Python is configured.</source>
      <translation>Aucun Python de moteur n'est configuré.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="54" />
      <source>The backend Python {path} does not exist.</source>
      <translation>Le Python du moteur {path} n'existe pas.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="56" />
      <source>The backend Python {path} is not executable.</source>
      <translation>Le Python du moteur {path} n'est pas exécutable.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="58" />
      <source>The backend package is missing from {root}: reinstall the plugin.</source>
      <translation>Le paquet du moteur manque dans {root} : réinstallez l'extension.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="79" />
      <source>The backend's Python lacks packages: run `make setup`, or choose the venv's Python in settings.</source>
      <translation>Il manque des paquets au Python du moteur : lancez `make setup`, ou choisissez le Python du venv dans les paramètres.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="81" />
      <source>The backend does not accept these options: check the extra arguments in Think2Map settings.</source>
      <translation>Le moteur n'accepte pas ces options : vérifiez les arguments supplémentaires dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/launch.py" line="83" />
      <source>The port is taken: restart the backend.</source>
      <translation>Le port est occupé : redémarrez le moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="107" />
      <source>Could not create the result layer in {path}: {error}</source>
      <translation>Impossible de créer la couche de résultats dans {path} : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="111" />
      <source>Could not open the result layer for '{query}'.</source>
      <translation>Impossible d'ouvrir la couche de résultats pour « {query} ».</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="174" />
      <source>Could not write features to {layer}: {error}</source>
      <translation>Impossible d'écrire les entités dans {layer} : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/layers.py" line="51" />
      <source>query</source>
      <translation>requête</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="26" />
      <source>The tile size must be between {min} and {max} pixels (it is {value}).</source>
      <translation>La taille des tuiles doit être comprise entre {min} et {max} pixels (elle est de {value}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/messages.py" line="27" />
      <source>The overlap must be at most half the tile size: {max} pixels for tiles of {tile_size} (it is {value}).</source>
      <translation>Le recouvrement ne peut dépasser la moitié de la taille des tuiles : {max} pixels pour des tuiles de {tile_size} (il est de {value}).</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="170" />
      <source>Canceled while waiting for the backend to start.</source>
      <translation>Annulé pendant l'attente du démarrage du moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="194" />
      <source>The backend is stopped.</source>
      <translation>Le moteur est arrêté.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="214" />
      <source>Remote mode needs a backend URL: set it in Think2Map settings.</source>
      <translation>Le mode distant a besoin de l'URL d'un moteur : indiquez-la dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="217" />
      <source>Connecting to {url}…</source>
      <translation>Connexion à {url}…</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="243" />
      <source>Starting the backend with {python}…</source>
      <translation>Démarrage du moteur avec {python}…</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="280" />
      <source>The backend could not be started: {error}.</source>
      <translation>Le moteur n'a pas pu démarrer : {error}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="305" />
      <source>The backend crashed or was killed.</source>
      <translation>Le moteur a planté ou a été tué.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="317" />
      <source>Restarting in {s} s (attempt {n} of {max})…</source>
      <translation>Redémarrage dans {s} s (tentative {n} sur {max})…</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="329" />
      <source>Last backend messages:</source>
      <translation>Derniers messages du moteur :</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="376" />
      <source>Backend ready at {url} on {device}.</source>
      <translation>Moteur prêt à {url} sur {device}.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="378" />
      <source>No GPU: running on the CPU will be slow.</source>
      <translation>Pas de GPU : l'exécution sur le CPU sera lente.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="383" />
      <source>The backend refused the token (HTTP 401): check the token in Think2Map settings.</source>
      <translation>Le moteur a refusé le jeton (HTTP 401) : vérifiez le jeton dans les paramètres de Think2Map.</translation>
    </message>
    <message>
      <location filename="../plugin/core/process.py" line="388" />
      <source>The backend at {url} is not healthy: {error}</source>
      <translation>Le moteur à {url} ne répond pas correctement : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/core/settings.py" line="136" />
      <source>Could not read the remote backend token from QGIS's authentication database (configuration {id}): was the master password entered?</source>
      <translation>Impossible de lire le jeton du moteur distant dans la base d'authentification de QGIS (configuration {id}) : le mot de passe principal a-t-il été saisi ?</translation>
    </message>
    <message>
      <location filename="../plugin/core/settings.py" line="156" />
      <source>Think2Map remote backend token</source>
      <translation>Jeton du moteur distant Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/core/settings.py" line="176" />
      <source>Could not store the remote backend token in QGIS's authentication database: it is kept in the QGIS settings, in plain text.</source>
      <translation>Impossible d'enregistrer le jeton du moteur distant dans la base d'authentification de QGIS : il est conservé dans les paramètres de QGIS, en clair.</translation>
    </message>
    <message>
      <location filename="../plugin/core/settings.py" line="183" />
      <source>QGIS's authentication database is disabled or has no master password: the remote backend token is kept in the QGIS settings, in plain text. Set a master password (Settings &gt; Options &gt; Authentication) to protect it.</source>
      <translation>La base d'authentification de QGIS est désactivée ou n'a pas de mot de passe principal : le jeton du moteur distant est conservé dans les paramètres de QGIS, en clair. Définissez un mot de passe principal (Préférences &gt; Options &gt; Authentification) pour le protéger.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="109" />
      <source>{n} tile(s) failed: {first}</source>
      <translation>{n} tuile(s) en échec : {first}</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="115" />
      <source>Nothing matching the query was found.</source>
      <translation>Rien ne correspond à la requête.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="116" />
      <source>{n} polygon(s) found.</source>
      <translation>{n} polygone(s) trouvé(s).</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="118" />
      <source>Cancelled; the {n} polygon(s) found so far were kept.</source>
      <translation>Annulée ; les {n} polygone(s) trouvés jusque-là sont conservés.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="119" />
      <source>The job failed.</source>
      <translation>La tâche a échoué.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="158" />
      <source>Unexpected answer from the backend: {e}</source>
      <translation>Réponse inattendue du moteur : {e}</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="174" />
      <source>Cancelled before it started.</source>
      <translation>Annulée avant de commencer.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="185" />
      <source>Think2Map: list models</source>
      <translation>Think2Map : liste des modèles</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="202" />
      <source>Cancelled.</source>
      <translation>Annulé.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="211" />
      <source>Think2Map: download {name}</source>
      <translation>Think2Map : téléchargement de {name}</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="223" />
      <source>The download goes on in the backend.</source>
      <translation>Le téléchargement continue dans le moteur.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="235" />
      <source>{name} is ready.</source>
      <translation>{name} est prêt.</translation>
    </message>
    <message>
      <location filename="../plugin/core/tasks.py" line="98" />
      <source>The backend did not confirm the cancellation.</source>
      <translation>Le moteur n'a pas confirmé l'annulation.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="102" />
      <source>Click on an object to outline it; Enter adds it to the layer.</source>
      <translation>Cliquez sur un objet pour le détourer ; Entrée l'ajoute à la couche.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="114" />
      <source>Select one polygon of a Think2Map result layer to refine.</source>
      <translation>Sélectionnez un polygone d'une couche de résultats Think2Map à affiner.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="119" />
      <source>Add points to correct the outline; Enter replaces the polygon.</source>
      <translation>Ajoutez des points pour corriger le contour ; Entrée remplace le polygone.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="128" />
      <source>Added to {layer}; Ctrl+Z in QGIS takes it back.</source>
      <translation>Ajouté à {layer} ; Ctrl+Z dans QGIS l'annule.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="30" />
      <source>Click to segment</source>
      <translation>Segmenter par clic</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="40" />
      <source>Click on the map</source>
      <translation>Cliquer sur la carte</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="43" />
      <source>Click inside an object (Shift or right click: outside it), or drag a box around it; Enter adds it</source>
      <translation>Cliquez dans un objet (Maj ou clic droit : en dehors), ou tracez un rectangle autour ; Entrée l'ajoute</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="45" />
      <source>Add (Enter)</source>
      <translation>Ajouter (Entrée)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="47" />
      <source>Refine selected</source>
      <translation>Affiner la sélection</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="48" />
      <source>Start from the selected polygon of a Think2Map layer, then add points</source>
      <translation>Partir du polygone sélectionné d'une couche Think2Map, puis ajouter des points</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="59" />
      <source>Where added outlines go; empty: a new '{name}' layer</source>
      <translation>Où vont les contours ajoutés ; vide : une nouvelle couche « {name} »</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="61" />
      <source>Add to</source>
      <translation>Ajouter à</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="62" />
      <source>Show the outline under the cursor</source>
      <translation>Montrer le contour sous le curseur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="65" />
      <source>Esc clears, Ctrl+Z takes back the last click.</source>
      <translation>Échap efface, Ctrl+Z annule le dernier clic.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_box.py" line="94" />
      <source>Choose the raster to digitise on first.</source>
      <translation>Choisissez d'abord le raster sur lequel numériser.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="117" />
      <source>This layer has no Think2Map prompts to refine.</source>
      <translation>Cette couche n'a pas d'invites Think2Map à affiner.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="181" />
      <source>The backend is not ready yet: the preview comes once it is.</source>
      <translation>Le moteur n'est pas encore prêt : l'aperçu viendra dès qu'il le sera.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="219" />
      <source>Nothing found there: add a point or draw a box.</source>
      <translation>Rien trouvé ici : ajoutez un point ou tracez un rectangle.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="248" />
      <source>Nothing to add yet: click on the object first.</source>
      <translation>Rien à ajouter pour l'instant : cliquez d'abord sur l'objet.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="264" />
      <source>Think2Map: add a segment</source>
      <translation>Think2Map : ajouter un segment</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="273" />
      <source>Think2Map: refine a segment</source>
      <translation>Think2Map : affiner un segment</translation>
    </message>
    <message>
      <location filename="../plugin/gui/click_session.py" line="277" />
      <source>Could not edit the layer {name}.</source>
      <translation>Impossible de modifier la couche {name}.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="112" />
      <source>Starting the backend…</source>
      <translation>Démarrage du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="114" />
      <source>unknown device</source>
      <translation>processeur inconnu</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="115" />
      <source>Backend ready on {device}</source>
      <translation>Moteur prêt sur {device}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="117" />
      <source>(no GPU: queries will be slow)</source>
      <translation>(pas de GPU : les requêtes seront lentes)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="120" />
      <source>Backend error: {detail}</source>
      <translation>Erreur du moteur : {detail}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="120" />
      <source>no details</source>
      <translation>sans détails</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="121" />
      <source>Backend stopped; it starts when you open this panel or run a query.</source>
      <translation>Moteur arrêté ; il démarre à l'ouverture de ce panneau ou au lancement d'une requête.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="127" />
      <source>The backend did not start: {detail}</source>
      <translation>Le moteur n'a pas démarré : {detail}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="157" />
      <source>Draw a rectangle on the map first (the Draw button), or choose another area.</source>
      <translation>Tracez d'abord un rectangle sur la carte (bouton Tracer), ou choisissez une autre zone.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="188" />
      <source>Type what to look for, for example: the river.</source>
      <translation>Tapez ce qu'il faut chercher, par exemple : la rivière.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="190" />
      <source>A query is already running; cancel it or wait for it to finish.</source>
      <translation>Une requête est déjà en cours ; annulez-la ou attendez qu'elle se termine.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="194" />
      <source>Not downloaded yet: {names}. Click Download to fetch them, or choose other models.</source>
      <translation>Pas encore téléchargé : {names}. Cliquez sur Télécharger pour les obtenir, ou choisissez d’autres modèles.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="217" />
      <source>Waiting for the backend to start…</source>
      <translation>En attente du démarrage du moteur…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="224" />
      <source>Cancelling…</source>
      <translation>Annulation…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="234" />
      <source>Think2Map: {query}</source>
      <translation>Think2Map : {query}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="241" />
      <source>Searching for '{query}'…</source>
      <translation>Recherche de « {query} »…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="252" />
      <source>Could not write the results to a GeoPackage ({error}): they are in a memory layer; save it before closing QGIS.</source>
      <translation>Impossible d'écrire les résultats dans un GeoPackage ({error}) : ils sont dans une couche en mémoire ; enregistrez-la avant de fermer QGIS.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="304" />
      <source>done.</source>
      <translation>terminée.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="306" />
      <source>cancelled.</source>
      <translation>annulée.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="308" />
      <source>The query failed: {error}</source>
      <translation>La requête a échoué : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="333" />
      <source>The layer of '{query}' was removed from the project.</source>
      <translation>La couche de « {query} » a été retirée du projet.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="363" />
      <source>Could not list the models: {error}</source>
      <translation>Impossible de lister les modèles : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="57" />
      <source>Bands are numbers separated by commas, like 3,2,1.</source>
      <translation>Les bandes sont des numéros séparés par des virgules, comme 3,2,1.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/controller.py" line="59" />
      <source>Give one band (grey) or three bands (red, green, blue), numbered from 1.</source>
      <translation>Indiquez une bande (gris) ou trois bandes (rouge, vert, bleu), numérotées à partir de 1.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="103" />
      <source>Advanced options</source>
      <translation>Options avancées</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="110" />
      <source> px</source>
      <translation> px</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="117" />
      <source>default (1,2,3); or 4,3,2; or one band</source>
      <translation>par défaut (1,2,3) ; ou 4,3,2 ; ou une seule bande</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="118" />
      <source>Tile size</source>
      <translation>Taille des tuiles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="119" />
      <source>Overlap</source>
      <translation>Recouvrement</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="120" />
      <source>Bands</source>
      <translation>Bandes</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="124" />
      <source>Run</source>
      <translation>Lancer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="126" />
      <source>Cancel</source>
      <translation>Annuler</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="134" />
      <source>%v / %m tiles</source>
      <translation>%v / %m tuiles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="147" />
      <source>Restart</source>
      <translation>Redémarrer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="148" />
      <source>Restart the backend</source>
      <translation>Redémarrer le moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="150" />
      <source>Settings…</source>
      <translation>Paramètres…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="152" />
      <source>Details…</source>
      <translation>Détails…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="153" />
      <source>The backend's full error message</source>
      <translation>Le message d'erreur complet du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="161" />
      <source>Results</source>
      <translation>Résultats</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="163" />
      <source>Select a result to show and zoom to its layer</source>
      <translation>Sélectionnez un résultat pour afficher sa couche et zoomer dessus</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="166" />
      <source>Zoom to layer</source>
      <translation>Zoomer sur la couche</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="167" />
      <source>Reasoning…</source>
      <translation>Raisonnement…</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="168" />
      <source>What the prompter wrote for each tile</source>
      <translation>Ce que le modèle d'invite a écrit pour chaque tuile</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="277" />
      <source>Area: a rectangle of {w:.0f} × {h:.0f} map units.</source>
      <translation>Zone : un rectangle de {w:.0f} × {h:.0f} unités de carte.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="301" />
      <source>The overlap must be less than half the tile size.</source>
      <translation>Le recouvrement doit être inférieur à la moitié de la taille des tuiles.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="310" />
      <source>Select a result first.</source>
      <translation>Sélectionnez d'abord un résultat.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="315" />
      <source>Think2Map backend</source>
      <translation>Moteur Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="394" />
      <source>waiting</source>
      <translation>en attente</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="395" />
      <source>running</source>
      <translation>en cours</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="396" />
      <source>done</source>
      <translation>terminée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="397" />
      <source>failed</source>
      <translation>échouée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="398" />
      <source>cancelled</source>
      <translation>annulée</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="401" />
      <source>{query} — {state}, {n} feature(s){tiles}</source>
      <translation>{query} — {state}, {n} entité(s){tiles}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="50" />
      <source>Think2Map</source>
      <translation>Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="75" />
      <source>The raster to search</source>
      <translation>Le raster à analyser</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="76" />
      <source>Raster</source>
      <translation>Raster</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="80" />
      <source>What to find, e.g. the river</source>
      <translation>Quoi chercher, p. ex. la rivière</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="81" />
      <source>Describe what to find in plain language; earlier queries are in the list</source>
      <translation>Décrivez en langage courant ce qu'il faut trouver ; les requêtes précédentes sont dans la liste</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="82" />
      <source>Query</source>
      <translation>Requête</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="85" />
      <source>Whole layer</source>
      <translation>Toute la couche</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="86" />
      <source>Current map extent</source>
      <translation>Emprise actuelle de la carte</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="87" />
      <source>Rectangle drawn on the map</source>
      <translation>Rectangle tracé sur la carte</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="89" />
      <source>Draw</source>
      <translation>Tracer</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="91" />
      <source>Drag a rectangle on the map to search only there</source>
      <translation>Tracez un rectangle sur la carte pour n'analyser que cette zone</translation>
    </message>
    <message>
      <location filename="../plugin/gui/dock.py" line="94" />
      <source>Area</source>
      <translation>Zone</translation>
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
      <source>(the prompter wrote nothing for this tile)</source>
      <translation>(le modèle d'invite n'a rien écrit pour cette tuile)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="39" />
      <source>Warning: {text}</source>
      <translation>Avertissement : {text}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="41" />
      <source>Error: {text}</source>
      <translation>Erreur : {text}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="43" />
      <source>Instances:</source>
      <translation>Instances :</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="45" />
      <source>Window (pixels): {window}</source>
      <translation>Fenêtre (pixels) : {window}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="55" />
      <source>Reasoning: {query}</source>
      <translation>Raisonnement : {query}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="60" />
      <source>What the prompter wrote for each tile of '{query}' ({n} tiles).</source>
      <translation>Ce que le modèle d'invite a écrit pour chaque tuile de « {query} » ({n} tuiles).</translation>
    </message>
    <message>
      <location filename="../plugin/gui/reasoning.py" line="83" />
      <source>No tile reports yet.</source>
      <translation>Pas encore de rapport de tuile.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="119" />
      <source>The extra arguments do not parse: {error}</source>
      <translation>Les arguments supplémentaires sont illisibles : {error}</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="140" />
      <source>The server URL must start with http:// or https://.</source>
      <translation>L'URL du serveur doit commencer par http:// ou https://.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="142" />
      <source>Choose the Python interpreter of the backend environment (run 'make setup' to build one).</source>
      <translation>Choisissez l'interpréteur Python de l'environnement du moteur (lancez « make setup » pour en créer un).</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="32" />
      <source>Think2Map settings</source>
      <translation>Paramètres de Think2Map</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="36" />
      <source>Start a local backend</source>
      <translation>Démarrer un moteur local</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="37" />
      <source>Use a backend server</source>
      <translation>Utiliser un serveur de moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="38" />
      <source>Backend</source>
      <translation>Moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="43" />
      <source>Python interpreter of the backend environment</source>
      <translation>Interpréteur Python de l'environnement du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="45" />
      <source>The python of the environment where the backend and PyTorch are installed (make setup builds .venv in the plugin folder)</source>
      <translation>Le python de l'environnement où sont installés le moteur et PyTorch (make setup crée .venv dans le dossier de l'extension)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="50" />
      <source>Backend Python</source>
      <translation>Python du moteur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="54" />
      <source>Device</source>
      <translation>Processeur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="56" />
      <source>more arguments for 'python -m backend serve'</source>
      <translation>autres arguments pour « python -m backend serve »</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="57" />
      <source>Extra arguments</source>
      <translation>Arguments supplémentaires</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="62" />
      <source>Server URL</source>
      <translation>URL du serveur</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="63" />
      <source>Token</source>
      <translation>Jeton</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="70" />
      <source>Models folder</source>
      <translation>Dossier des modèles</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="74" />
      <source>Default prompter</source>
      <translation>Modèle d'invite par défaut</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="75" />
      <source>Default segmenter</source>
      <translation>Segmenteur par défaut</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="76" />
      <source>A known name (think2seg-rs-3b, sam2.1-s, …) or a local folder or checkpoint.</source>
      <translation>Un nom connu (think2seg-rs-3b, sam2.1-s, …) ou un dossier ou fichier de poids local.</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="84" />
      <source>GeoPackage (project folder, or a temporary folder)</source>
      <translation>GeoPackage (dossier du projet, ou dossier temporaire)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="85" />
      <source>Memory layer (lost when QGIS closes)</source>
      <translation>Couche en mémoire (perdue à la fermeture de QGIS)</translation>
    </message>
    <message>
      <location filename="../plugin/gui/settings_dialog.py" line="86" />
      <source>Store results as</source>
      <translation>Enregistrer les résultats en</translation>
    </message>
    <message>
      <location filename="../plugin/plugin.py" line="145" />
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
      <location filename="../plugin/processing/algorithm.py" line="105" />
      <source>Tile overlap (pixels)</source>
      <translation>Recouvrement des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="114" />
      <source>Segmented polygons</source>
      <translation>Polygones segmentés</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="139" />
      <source>Type what to look for in the query.</source>
      <translation>Tapez dans la requête ce qu'il faut chercher.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="178" />
      <source>Tile {i}: {status}. {text}</source>
      <translation>Tuile {i} : {status}. {text}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="184" />
      <source>{done} of {total} tiles</source>
      <translation>{done} tuiles sur {total}</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="189" />
      <source>Job {id}: {n} tile(s).</source>
      <translation>Tâche {id} : {n} tuile(s).</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="211" />
      <source>Waiting for the Think2Map backend to start…</source>
      <translation>Attente du démarrage du moteur Think2Map…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="222" />
      <source>Starting the Think2Map backend…</source>
      <translation>Démarrage du moteur Think2Map…</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="57" />
      <source>Segment raster by text query</source>
      <translation>Segmenter un raster par requête textuelle</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="60" />
      <source>Finds what the query describes ("the river", "every building with a red roof") in the raster and returns its outlines as polygons in the raster's CRS. A vision-language model reads each tile and prompts Segment Anything; both run in the Think2Map backend (see the plugin's settings), which is started when needed.</source>
      <translation>Trouve dans le raster ce que décrit la requête (« la rivière », « chaque bâtiment au toit rouge ») et renvoie ses contours sous forme de polygones dans le SCR du raster. Un modèle vision-langage lit chaque tuile et guide Segment Anything ; tous deux tournent dans le moteur Think2Map (voir les paramètres de l'extension), démarré au besoin.</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="75" />
      <source>Area to search (default: the whole raster)</source>
      <translation>Zone à analyser (par défaut : tout le raster)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="80" />
      <source>Prompter (model name or folder)</source>
      <translation>Modèle d'invite (nom ou dossier)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="87" />
      <source>Segmenter (model name or checkpoint)</source>
      <translation>Segmenteur (nom ou fichier de poids)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/algorithm.py" line="94" />
      <source>Tile size (pixels)</source>
      <translation>Taille des tuiles (pixels)</translation>
    </message>
    <message>
      <location filename="../plugin/processing/provider.py" line="38" />
      <source>Think2Map: segment rasters by text query</source>
      <translation>Think2Map : segmenter des rasters par requête textuelle</translation>
    </message>
  </context>
</TS>
